#pragma once
// The pages in front of the data: the login form (a token, kept in a cookie) and the purpose form
// that every page with case data asks first, since each such view is recorded in the handover log
// with the viewer and the purpose they gave. Pure: data in, HTML body out.

#include <map>
#include <string>

namespace broker::console {

// `problem` ("" or why the last attempt failed) is shown above the form.
std::string render_login(const std::string& problem);

// A GET form back to `path` that keeps `params` (the page's filters) and asks for the purpose.
std::string render_purpose_form(const std::string& path, const std::map<std::string, std::string>& params);

}  // namespace broker::console
