#include "broker/console/catalogue_page.h"

#include "broker/console/html.h"

namespace broker::console {
namespace {

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + escape(items[i]);
  return out.empty() ? "\u2014" : out;
}

}  // namespace

std::string render_contracts(const contracts::ContractRegistry* registry) {
  if (registry == nullptr) {
    return "<p>The console was started without <code>--contracts</code>: no catalogue to show.</p>";
  }
  std::string out = "<p class=\"muted\">" + std::to_string(registry->size()) +
                    " contract version(s).</p><div class=\"scroll\"><table id=\"contracts\"><thead><tr><th>Contract</th>"
                    "<th>Version</th><th>Owners</th><th>Consumers</th><th class=\"num\">Norms</th><th>Projections</th>"
                    "<th>Description</th></tr></thead><tbody>";
  for (const auto& [key, c] : registry->all()) {
    std::vector<std::string> projected;
    for (const auto& [consumer, fields] : c.projections) projected.push_back(consumer);
    out += "<tr><td><a href=\"/messages?contract=" + url_encode(c.name) + "\">" + escape(c.name) + "</a></td><td>v" +
           std::to_string(c.version) + "</td><td>" + list(c.owners) + "</td><td>" + list(c.consumers) +
           "</td><td class=\"num\">" + std::to_string(c.norms.size()) + "</td><td>" + list(projected) + "</td><td>" +
           escape(c.description) + "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

std::string render_quality(const std::string& from_text, const std::string& to_text, const std::string& report_html,
                           const std::string& problem) {
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/quality\"><label>From (inclusive)<input "
                    "type=\"text\" name=\"from\" value=\"" + escape(from_text) +
                    "\" placeholder=\"2025-03-01\" size=\"14\"></label><label>To (exclusive)<input type=\"text\" "
                    "name=\"to\" value=\"" + escape(to_text) +
                    "\" placeholder=\"2025-03-08\" size=\"14\"></label><button type=\"submit\">Report</button></form>";
  if (!problem.empty()) return out + "<p class=\"error\">" + escape(problem) + "</p>";
  return out + "<iframe id=\"quality\" title=\"quality report\" sandbox srcdoc=\"" + escape(report_html) + "\"></iframe>";
}

}  // namespace broker::console
