#include "broker/console/gate_page.h"

#include "broker/console/html.h"

namespace broker::console {

std::string render_login(const std::string& problem) {
  std::string out;
  if (!problem.empty()) out += "<p class=\"error\">" + escape(problem) + "</p>";
  out += "<form class=\"filters\" method=\"post\" action=\"/login\">"
         "<label>Access token<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>"
         "<button type=\"submit\">Log in</button></form>"
         "<p class=\"muted\">Tokens are given out by the broker's operators (docs/console.md).</p>";
  return out;
}

std::string render_purpose_form(const std::string& path, const std::map<std::string, std::string>& params) {
  std::string out =
      "<p>This page shows case data. Each view is recorded in the handover log with your name and the "
      "purpose you give.</p><form class=\"filters\" method=\"get\" action=\"" + escape(path) + "\">";
  for (const auto& [key, value] : params) {
    if (key == "purpose" || value.empty()) continue;
    out += "<input type=\"hidden\" name=\"" + escape(key) + "\" value=\"" + escape(value) + "\">";
  }
  out += "<label>Purpose<input type=\"text\" name=\"purpose\" id=\"purpose\" size=\"40\" required "
         "placeholder=\"e.g. incident 2025-031: stuck departures\"></label>"
         "<button type=\"submit\">Continue</button></form>";
  return out;
}

}  // namespace broker::console
