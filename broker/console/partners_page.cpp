#include "broker/console/partners_page.h"

#include <cstdio>

#include "broker/console/html.h"

namespace broker::console {
namespace {

std::string rate_text(double rate) {
  if (rate < 0) return "\u2014";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", rate * 100.0);
  return buf;
}

}  // namespace

std::string render_partners(const std::vector<store::PartnerSummary>& partners, contracts::Millis now,
                            contracts::Millis window) {
  std::string out = "<p class=\"muted\">Backlog and dead letters as stored now; accepted, rejected and last seen "
                    "over the last " + age_text(window) + " of the handover log. Refreshes every 10 s.</p>";
  if (partners.empty()) return out + "<p>No partner has sent or been sent anything yet.</p>";
  out += "<div class=\"scroll\"><table id=\"partners\"><thead><tr><th>Partner</th><th class=\"num\">Backlog</th>"
         "<th>Oldest undelivered</th><th class=\"num\">Dead letters</th><th class=\"num\">Accepted</th>"
         "<th class=\"num\">Rejected</th><th class=\"num\">Rejection rate</th><th>Last seen</th></tr></thead><tbody>";
  for (const auto& p : partners) {
    const char* row_class = p.dead_letters > 0 ? " class=\"bad\"" : p.undelivered > 0 ? " class=\"warn\"" : "";
    const std::string enc = url_encode(p.partner);
    out += "<tr" + std::string(row_class) + " data-partner=\"" + escape(p.partner) + "\"><td>" + escape(p.partner) +
           "</td><td class=\"num\"><a href=\"/messages?recipient=" + enc + "&amp;state=pending\">" +
           std::to_string(p.undelivered) + "</a></td><td>" +
           (p.oldest_undelivered == 0 ? "\u2014"
                                      : age_text(now - p.oldest_undelivered) + " ago <span class=\"muted\">" +
                                            time_text(p.oldest_undelivered) + "</span>") +
           "</td><td class=\"num\"><a href=\"/dead-letters?recipient=" + enc + "\">" + std::to_string(p.dead_letters) +
           "</a></td><td class=\"num\">" + std::to_string(p.accepted) + "</td><td class=\"num\">" +
           std::to_string(p.rejected) + "</td><td class=\"num\">" + rate_text(p.rejection_rate()) + "</td><td>" +
           (p.last_seen == 0 ? "\u2014" : age_text(now - p.last_seen) + " ago") + "</td></tr>";
  }
  out += "</tbody></table></div>";
  return out;
}

}  // namespace broker::console
