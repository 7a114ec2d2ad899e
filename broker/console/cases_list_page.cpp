#include "broker/console/cases_list_page.h"

#include "broker/console/case_page.h"
#include "broker/console/html.h"

namespace broker::console {

std::string render_case_list(const std::vector<store::CaseSummary>& cases, bool limited) {
  std::string out = render_case_chooser("");
  if (limited) out += "<p class=\"muted\">Only the cases you may see are listed.</p>";
  if (cases.empty()) return out + "<p id=\"none\">No cases.</p>";
  out += "<div class=\"scroll\"><table id=\"cases\"><thead><tr><th>Case</th><th class=\"num\">Events</th>"
         "<th>First</th><th>Last</th></tr></thead><tbody>";
  for (const auto& c : cases) {
    out += "<tr data-case=\"" + escape(c.case_ref) + "\"><td><a href=\"/cases?case=" + url_encode(c.case_ref) + "\">" +
           escape(c.case_ref) + "</a></td><td class=\"num\">" + std::to_string(c.events) + "</td><td>" +
           time_text(c.first_at) + "</td><td>" + time_text(c.last_at) + "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

}  // namespace broker::console
