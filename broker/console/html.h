#pragma once
// The console's HTML in one place: escaping, query-string encoding, the page frame (navigation,
// inline CSS, nothing fetched from elsewhere) and small formatting helpers. Every page builds its
// body from these and never writes a value into HTML without escape(). Pure functions.

#include <map>
#include <string>
#include <string_view>

#include "contracts/envelope.h"

namespace broker::console {

using contracts::Millis;

// Text for an HTML element or a quoted attribute value: & < > " ' escaped.
std::string escape(std::string_view text);
// A query-string component: everything but unreserved characters percent-encoded.
std::string url_encode(std::string_view text);
// "?a=1&b=x%20y" from the non-empty values, or "" when all are empty; keys in map order.
std::string query_string(const std::map<std::string, std::string>& params);

// "2025-03-03T08:12:00.000Z", or "—" for 0.
std::string time_text(Millis at);
// "3h 12m", "45 s", "—" for a negative span.
std::string age_text(Millis span);

struct Frame {
  std::string title;        // the <title> and the page's <h1>
  std::string section;      // the navigation entry to mark current: "partners", "dead", ...
  std::string viewer;       // "name (role)", "" on the login page
  int refresh_seconds = 0;  // > 0: the page reloads itself (the partners overview)
};

// A whole page: the frame around `body` (already HTML).
std::string page(const Frame& frame, const std::string& body);

}  // namespace broker::console
