#include "broker/console/case_page.h"

#include <algorithm>

#include "broker/console/html.h"

namespace broker::console {
namespace {

// The slider's position for `as_of`: the last stop at or before it (the last stop for 0 = now).
std::size_t stop_index(const std::vector<Millis>& times, Millis as_of) {
  if (times.empty()) return 0;
  if (as_of == 0) return times.size() - 1;
  auto it = std::upper_bound(times.begin(), times.end(), as_of);
  return it == times.begin() ? 0 : static_cast<std::size_t>(it - times.begin()) - 1;
}

std::string violations(const std::vector<events::LoggedEvent>& logged,
                       const std::map<std::string, std::vector<std::string>>& owners) {
  if (logged.empty()) return "<p id=\"violations-none\">No norm violations in this view.</p>";
  std::string out = "<div class=\"scroll\"><table id=\"violations\"><thead><tr><th>At</th><th>Norm</th><th>Who</th>"
                    "<th>Late by</th><th>State</th><th>Due</th></tr></thead><tbody>";
  for (const auto& [seq, e] : logged) {
    const auto f = audit::norm_facts(e);
    if (!f) continue;
    // A delivery norm names the recipient who had to acknowledge. A follow-up norm was due from
    // the owner of the expected contract (the event's sender sent the message that started it).
    std::string who = e.recipient;
    const std::string& expected = f->expected_contract;
    if (who.empty() && !expected.empty()) {
      if (auto it = owners.find(expected); it != owners.end()) {
        for (const auto& o : it->second) who += (who.empty() ? "" : ", ") + o;
      }
      who = who.empty() ? "the producer of " + expected : who + " (" + expected + ")";
    }
    if (who.empty()) who = e.sender;
    out += "<tr class=\"bad\"><td>" + time_text(e.at) + "</td><td>" + escape(f->norm) + "</td><td>" +
           escape(who.empty() ? "\u2014" : who) + "</td><td>" + age_text(f->by_ms.value_or(0)) + "</td><td>" +
           (f->open ? "open" : "closed") + "</td><td>" + time_text(f->due_at) + "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

}  // namespace

std::string render_case_chooser(const std::string& problem) {
  std::string out;
  if (!problem.empty()) out += "<p class=\"error\">" + escape(problem) + "</p>";
  return out + "<form class=\"filters\" method=\"get\" action=\"/cases\"><label>Case reference<input type=\"text\" "
               "name=\"case\" required></label><button type=\"submit\">Show</button></form>";
}

std::string render_case_list(const std::vector<store::CaseSummary>& rows, const std::string& prefix, bool limited) {
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/cases\"><label>Case reference<input type=\"text\" "
                    "name=\"case\" required></label><button type=\"submit\">Show</button></form>"
                    "<form class=\"filters\" method=\"get\" action=\"/cases\" id=\"case-search\"><label>Cases starting "
                    "with<input type=\"text\" name=\"prefix\" value=\"" + escape(prefix) +
                    "\" size=\"14\"></label><button type=\"submit\">Search</button></form>";
  if (limited) out += "<p class=\"muted\">Only the cases you are given are listed.</p>";
  if (rows.empty()) return out + "<p id=\"none\">No cases match.</p>";
  out += "<div class=\"scroll\"><table id=\"cases\"><thead><tr><th>Case</th><th class=\"num\">Messages</th>"
         "<th>Partners</th><th>Newest message accepted</th></tr></thead><tbody>";
  for (const auto& c : rows) {
    std::string partners;
    for (std::size_t i = 0; i < c.partners.size(); ++i) partners += (i ? ", " : "") + escape(c.partners[i]);
    out += "<tr data-case=\"" + escape(c.case_ref) + "\"><td><a href=\"/cases?case=" + url_encode(c.case_ref) + "\">" +
           escape(c.case_ref) + "</a></td><td class=\"num\">" + std::to_string(c.messages) + "</td><td>" + partners +
           "</td><td>" + time_text(c.last_accepted_at) + "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

std::string render_case(const CaseView& v) {
  const auto& q = v.timeline.query;
  const std::size_t at = stop_index(v.event_times, q.as_of);
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/cases\" id=\"case-form\">"
                    "<input type=\"hidden\" name=\"case\" value=\"" + escape(v.case_ref) + "\">"
                    "<input type=\"hidden\" name=\"as_of\" id=\"as_of\" value=\"" +
                    (q.as_of == 0 ? std::string() : time_text(q.as_of)) +
                    "\"><label>As partner<select name=\"partner\" id=\"partner\" onchange=\"this.form.submit()\">"
                    "<option value=\"\">every partner</option>";
  for (const auto& p : v.partners) {
    out += "<option" + std::string(p == q.partner ? " selected" : "") + " value=\"" + escape(p) + "\">" + escape(p) +
           "</option>";
  }
  out += "</select></label><button type=\"submit\">Show</button> <a href=\"/cases?case=" + url_encode(v.case_ref) +
         (q.partner.empty() ? "" : "&amp;partner=" + url_encode(q.partner)) + "\">now</a></form>";
  if (!v.event_times.empty()) {
    // Each stop is one logged event's time; moving the slider reloads the view cut there.
    std::string times = "[";
    for (std::size_t i = 0; i < v.event_times.size(); ++i) {
      times += (i ? ",\"" : "\"") + time_text(v.event_times[i]) + "\"";
    }
    times += "]";
    out += "<div class=\"slider\"><label for=\"slider\">At <strong id=\"slider-time\">" +
           (q.as_of == 0 ? std::string("now (every event)") : time_text(q.as_of)) + "</strong></label>"
           "<input type=\"range\" id=\"slider\" min=\"0\" max=\"" + std::to_string(v.event_times.size() - 1) +
           "\" step=\"1\" value=\"" + std::to_string(at) + "\" aria-label=\"time\">"
           "<div class=\"muted\">" + time_text(v.event_times.front()) + " \u2192 " + time_text(v.event_times.back()) +
           " \u00b7 " + std::to_string(v.event_times.size()) + " moments</div></div>"
           "<script>(function(){var t=" + times + ";var s=document.getElementById('slider');"
           "s.addEventListener('input',function(){document.getElementById('slider-time').textContent=t[s.value];});"
           "s.addEventListener('change',function(){document.getElementById('as_of').value=t[s.value];"
           "document.getElementById('case-form').submit();});})();</script>";
  }
  out += std::string("<p class=\"") + (v.verification.ok ? "notice" : "error") + "\" id=\"verification\">" +
         escape(audit::verification_line(v.verification)) +
         "</p>";
  if (!q.partner.empty()) {
    const auto& t = v.timeline;
    std::size_t acked = 0;
    for (const auto& m : t.received) acked += m.acked_at != 0 ? 1 : 0;
    out += "<h2>What " + escape(q.partner) + " knew" +
           (q.as_of == 0 ? std::string(" (now)") : " at " + time_text(q.as_of)) +
           "</h2><p id=\"knowledge\" data-received=\"" + std::to_string(t.received.size()) + "\" data-sent=\"" +
           std::to_string(t.sent.size()) + "\">Received " + std::to_string(t.received.size()) + " message(s), acknowledged " +
           std::to_string(acked) + "; sent " + std::to_string(t.sent.size()) + ".</p>";
    if (!t.received.empty()) {
      out += "<div class=\"scroll\"><table id=\"received\"><thead><tr><th>Contract</th><th>From</th><th>Delivered</th>"
             "<th>Acknowledged</th><th>Fields withheld</th></tr></thead><tbody>";
      for (const auto& m : t.received) {
        std::string withheld;
        for (const auto& f : m.removed_fields) withheld += (withheld.empty() ? "" : ", ") + escape(f);
        out += "<tr><td>" + escape(m.contract) + " v" + std::to_string(m.version) + "</td><td>" + escape(m.sender) +
               "</td><td>" + time_text(m.delivered_at) + "</td><td>" + time_text(m.acked_at) + "</td><td>" +
               (withheld.empty() ? "\u2014" : withheld) + "</td></tr>";
      }
      out += "</tbody></table></div>";
    }
  }
  out += "<h2>Norm violations</h2>" + violations(v.timeline.violations, v.owners);
  out += "<h2>Timeline</h2><iframe id=\"replay\" title=\"timeline\" sandbox srcdoc=\"" + escape(v.replay_html) +
         "\"></iframe>";
  return out;
}

}  // namespace broker::console
