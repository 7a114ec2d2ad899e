#include "broker/console/dead_letters_page.h"

#include "broker/console/html.h"
#include "contracts/time.h"

namespace broker::console {
namespace {

std::string text_field(const char* name, const char* label, const std::string& value) {
  return "<label>" + std::string(label) + "<input type=\"text\" name=\"" + name + "\" value=\"" + escape(value) +
         "\" size=\"14\"></label>";
}

std::string hidden(const char* name, const std::string& value) {
  if (value.empty()) return {};
  return "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + escape(value) + "\">";
}

std::string time_value(contracts::Millis at) { return at == 0 ? std::string() : contracts::format_rfc3339(at); }

}  // namespace

std::string render_dead_letters(const std::vector<store::DeadLetter>& rows, const store::MessageFilter& filter,
                                const Viewer& viewer) {
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/dead-letters\">" +
                    text_field("recipient", "Recipient", filter.recipient) +
                    text_field("sender", "Producer", filter.sender) +
                    text_field("contract", "Contract", filter.contract) + text_field("case", "Case", filter.case_ref) +
                    text_field("dead_from", "Dead from", time_value(filter.dead_from)) +
                    text_field("dead_to", "Dead before", time_value(filter.dead_to)) +
                    (filter.limit != 0 ? hidden("per", std::to_string(filter.limit)) : std::string()) + "<button type=\"submit\">Filter</button></form>";
  if (viewer.is_limited()) out += "<p class=\"muted\">Only the cases you may see are listed.</p>";
  if (rows.empty()) return out + "<p id=\"none\">No dead letters match.</p>";
  const bool resend = viewer.may_resend();
  if (resend) {
    out += "<form method=\"post\" action=\"/dead-letters/resend\" id=\"resend-form\">" +
           hidden("recipient", filter.recipient) + hidden("sender", filter.sender) +
           hidden("contract", filter.contract) + hidden("case", filter.case_ref) +
           hidden("dead_from", time_value(filter.dead_from)) + hidden("dead_to", time_value(filter.dead_to));
  }
  out += "<div class=\"scroll\"><table id=\"dead-letters\"><thead><tr>";
  if (resend) out += "<th></th>";
  out += "<th>Dead since</th><th>Recipient</th><th>Contract</th><th>Case</th><th>Producer</th>"
         "<th class=\"num\">Attempts</th><th>Message</th><th>Re-sent as</th></tr></thead><tbody>";
  for (const auto& d : rows) {
    const std::string id = std::to_string(d.delivery_id);
    out += "<tr data-delivery=\"" + id + "\" data-message=\"" + escape(d.message.message_id) + "\">";
    // The controls come first, so a phone shows them without scrolling the table sideways.
    if (resend) {
      out += "<td><input type=\"checkbox\" name=\"delivery\" value=\"" + id +
             "\" aria-label=\"select\"> <button type=\"submit\" name=\"one\" value=\"" + id +
             "\" class=\"resend-one\">Resend</button></td>";
    }
    out += "<td>" + time_text(d.dead_at) + "</td><td>" + escape(d.recipient) + "</td><td>" + escape(d.message.contract) +
           " v" + std::to_string(d.message.version) + "</td><td><a href=\"/cases?case=" + url_encode(d.message.case_ref) +
           "\">" + escape(d.message.case_ref) + "</a></td><td>" + escape(d.message.sender) + "</td><td class=\"num\">" +
           std::to_string(d.attempts) + "</td><td><a href=\"/messages/" + url_encode(d.message.message_id) + "\"><code>" +
           escape(d.message.message_id) + "</code></a></td><td class=\"resent\">";
    for (std::size_t i = 0; i < d.resent_as.size(); ++i) {
      out += (i ? ", " : "") + std::string("<a href=\"/messages/") + url_encode(d.resent_as[i]) + "\"><code>" +
             escape(d.resent_as[i]) + "</code></a>";
    }
    out += "</td></tr>";
  }
  out += "</tbody></table></div>";
  if (resend) {
    out += "<p><button type=\"submit\" name=\"selected\" value=\"1\" id=\"resend-selected\">Resend selected</button> "
           "<button type=\"submit\" name=\"all\" value=\"1\" class=\"secondary\" id=\"resend-all\" "
           "onclick=\"return confirm('Resend every dead letter matching this filter (the newest 1000 at most)?')\">"
           "Resend all matching</button></p></form>"
           "<p class=\"muted\">A resend sends the message again as its producer, as a new message linked to the "
           "original (origin <code>resend:&lt;id&gt;</code>), to the dead letter's recipient; the handover log "
           "records it with your name.</p>";
  }
  return out;
}

std::string render_resend_result(const std::vector<ResendLine>& lines) {
  std::string out;
  if (lines.empty()) out += "<p class=\"error\">Nothing was selected to resend.</p>";
  if (!lines.empty()) {
    out += "<div class=\"scroll\"><table id=\"resend-result\"><thead><tr><th>Original</th><th>Recipient</th>"
           "<th>Status</th><th>New message</th><th>Detail</th></tr></thead><tbody>";
    for (const auto& l : lines) {
      out += "<tr class=\"" + std::string(l.status == "accepted" ? "" : "bad") + "\"><td><code>" + escape(l.original_id) +
             "</code></td><td>" + escape(l.recipient) + "</td><td class=\"status\">" + escape(l.status) + "</td><td>" +
             (l.new_id.empty() ? "\u2014"
                               : "<a class=\"new-message\" href=\"/messages/" + url_encode(l.new_id) + "\"><code>" +
                                     escape(l.new_id) + "</code></a>") +
             "</td><td>" + escape(l.problem) + "</td></tr>";
    }
    out += "</tbody></table></div>";
  }
  out += "<p><a href=\"/dead-letters\">Back to the dead letters</a></p>";
  return out;
}

}  // namespace broker::console
