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
                            contracts::Millis window, const Liveness& live) {
  std::string out = "<p class=\"muted\">Backlog and dead letters as stored now; accepted, rejected and last seen "
                    "over the last " + (window % 3'600'000 == 0 ? std::to_string(window / 3'600'000) + " hours" : age_text(window)) +
                    " of the handover log. Refreshes every 10 s.</p>";
  if (!live.problem.empty()) {
    out += "<p class=\"error\" id=\"liveness-problem\">Connections unknown: " + escape(live.problem) + "</p>";
  }
  if (partners.empty()) return out + "<p>No partner has sent or been sent anything yet.</p>";
  const bool connections = live.partners != nullptr;
  out += "<div class=\"scroll\"><table id=\"partners\"><thead><tr><th>Partner</th>";
  if (connections) out += "<th>Connected</th><th>Last frame</th>";
  out += "<th class=\"num\">Backlog</th>"
         "<th>Oldest undelivered</th><th class=\"num\">Dead letters</th><th class=\"num\">Accepted</th>"
         "<th class=\"num\">Rejected</th><th class=\"num\">Rejection rate</th><th>Last seen</th></tr></thead><tbody>";
  for (const auto& p : partners) {
    const char* row_class = p.dead_letters > 0 ? " class=\"bad\"" : p.undelivered > 0 ? " class=\"warn\"" : "";
    const std::string enc = url_encode(p.partner);
    std::string connection;
    if (connections) {
      auto it = live.partners->find(p.partner);
      const bool known = it != live.partners->end();
      const bool up = known && it->second.connected;
      connection = "<td class=\"connection\" data-connected=\"" + std::string(up ? "yes" : known ? "no" : "unknown") +
                   "\">" + (up ? "\u25cf yes" : known ? "no" : "\u2014") + "</td><td>" +
                   (known && it->second.last_seen_age_seconds >= 0
                        ? age_text(static_cast<Millis>(it->second.last_seen_age_seconds * 1000)) + " ago"
                        : "\u2014") +
                   "</td>";
    }
    out += "<tr" + std::string(row_class) + " data-partner=\"" + escape(p.partner) + "\"><td>" + escape(p.partner) +
           "</td>" + connection + "<td class=\"num\"><a href=\"/messages?recipient=" + enc + "&amp;state=pending\">" +
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
  // Per partner and contract, only where there is something to see.
  std::string rows;
  for (const auto& p : partners) {
    for (const auto& f : p.by_contract) {
      if (f.undelivered == 0 && f.dead_letters == 0 && f.rejected == 0) continue;
      rows += "<tr data-partner=\"" + escape(p.partner) + "\" data-contract=\"" + escape(f.contract) + "\"><td>" +
              escape(p.partner) + "</td><td>" + (f.contract.empty() ? "(unreadable)" : escape(f.contract)) +
              "</td><td class=\"num\">" + std::to_string(f.undelivered) + "</td><td>" +
              (f.oldest_undelivered == 0 ? "\u2014" : age_text(now - f.oldest_undelivered) + " ago") +
              "</td><td class=\"num\">" + std::to_string(f.dead_letters) + "</td><td class=\"num\">" +
              std::to_string(f.accepted) + "</td><td class=\"num\">" + std::to_string(f.rejected) +
              "</td><td class=\"num\">" + rate_text(store::rejection_rate(f.accepted, f.rejected)) + "</td></tr>";
    }
  }
  if (!rows.empty()) {
    out += "<h2>Per contract</h2><p class=\"muted\">Where a partner has a backlog, dead letters or refusals.</p>"
           "<div class=\"scroll\"><table id=\"partner-contracts\"><thead><tr><th>Partner</th><th>Contract</th>"
           "<th class=\"num\">Backlog</th><th>Oldest undelivered</th><th class=\"num\">Dead letters</th>"
           "<th class=\"num\">Accepted</th><th class=\"num\">Rejected</th><th class=\"num\">Rejection rate</th>"
           "</tr></thead><tbody>" + rows + "</tbody></table></div>";
  }
  return out;
}

}  // namespace broker::console
