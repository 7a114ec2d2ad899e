#include "broker/console/messages_page.h"

#include "broker/events/render.h"
#include "broker/console/html.h"

namespace broker::console {
namespace {

std::string field(const char* name, const char* label, const std::string& value, const char* placeholder = "") {
  return "<label>" + std::string(label) + "<input type=\"text\" name=\"" + name + "\" value=\"" + escape(value) +
         "\" size=\"14\" placeholder=\"" + placeholder + "\"></label>";
}

std::string state_select(const std::string& state) {
  std::string out = "<label>State<select name=\"state\"><option value=\"\">any</option>";
  for (const char* s : {"pending", "in_flight", "acked", "dead"}) {
    out += "<option" + std::string(state == s ? " selected" : "") + ">" + s + "</option>";
  }
  return out + "</select></label>";
}

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + escape(items[i]);
  return out.empty() ? "\u2014" : out;
}

std::string message_link(const std::string& id) {
  if (id.empty()) return "\u2014";
  return "<a href=\"/messages/" + url_encode(id) + "\"><code>" + escape(id) + "</code></a>";
}

// The latest signed checkpoint the proofs are against: its note as signed, and its signature.
std::string render_checkpoint(const ProofSummary& p) {
  std::string out = "<h2>Handover log</h2><p class=\"muted\">Each event with its seq in the whole log (its leaf is "
                    "seq\u00a0\u2212\u00a01 in the log's Merkle tree) and its inclusion proof against the latest "
                    "signed checkpoint, checked here; download a proof to check it yourself (docs/console.md).</p>";
  if (p.note.empty()) {
    return out + "<p id=\"checkpoint\" class=\"muted\" data-signed=\"none\">The log has no signed checkpoint: "
                 "the broker signs none (no signing key), or has not signed one yet.</p>";
  }
  out += "<div id=\"checkpoint\" data-size=\"" + std::to_string(p.tree_size) + "\" data-signed=\"" +
         (p.signature_ok ? "ok" : "bad") + "\"><p>Latest signed checkpoint: tree of " + std::to_string(p.tree_size) +
         " events, root <code>" + escape(p.root) + "</code>. Signature: " +
         (p.signature_ok ? "<span class=\"yes\">verifies</span> with the key the log states, <code>" + escape(p.signature) +
                               "</code>"
                         : "<span class=\"no\">" + escape(p.signature) + "</span>") +
         "</p><pre id=\"checkpoint-note\">" + escape(p.note) + "</pre></div>";
  if (!p.damaged_shortcuts.empty()) {
    out += "<div class=\"error\" id=\"damaged-shortcuts\"><p>FINDING: stored shortcut rows of the log's tree were "
           "changed in the store; the proofs below were built without them and verify:</p><ul>";
    for (const auto& row : p.damaged_shortcuts) out += "<li>" + escape(row) + "</li>";
    out += "</ul></div>";
  }
  return out;
}

std::string proof_cell(const std::string& message_id, std::uint64_t seq, const EventProof* p) {
  if (p == nullptr) return "<td class=\"proof\" data-proof=\"none\">\u2014</td>";
  switch (p->status) {
    case EventProof::Status::kVerified:
      return "<td class=\"proof\" data-proof=\"verified\"><span class=\"yes\">verifies</span> (" +
             std::to_string(p->hashes) + " hashes) <a class=\"proof-json\" download href=\"/messages/" +
             url_encode(message_id) + "/proof/" + std::to_string(seq) + "\">proof JSON</a></td>";
    case EventProof::Status::kNotCovered:
      return "<td class=\"proof\" data-proof=\"not-covered\">not yet covered by a signed checkpoint</td>";
    case EventProof::Status::kFailed:
      break;
  }
  return "<td class=\"proof bad\" data-proof=\"failed\"><span class=\"no\">does not verify</span>: " +
         escape(p->detail) + "</td>";
}

}  // namespace

std::string render_message_search(const std::vector<store::MessageRow>& rows, const store::MessageFilter& filter,
                                  const std::string& from_text, const std::string& to_text) {
  std::string out = "<form class=\"filters\" method=\"get\" action=\"/messages\">" +
                    field("case", "Case", filter.case_ref) + field("contract", "Contract", filter.contract) +
                    field("sender", "Producer", filter.sender) + field("recipient", "Recipient", filter.recipient) +
                    state_select(filter.state) + field("from", "Accepted from", from_text, "2025-03-01") +
                    field("to", "before", to_text, "2025-03-02T12:00:00Z") +
                    "<button type=\"submit\">Search</button></form>";
  if (filter.min_seq > 0) {
    out += "<p class=\"muted\" id=\"search-window\">Searched back to message number " +
           std::to_string(filter.min_seq) +
           " (the store numbers messages in the order it accepted them); \u201cOlder\u201d searches on "
           "from there. A case in the search is found at once, however old.</p>";
  }
  if (rows.empty()) return out + "<p id=\"none\">No messages match.</p>";
  out += "<p class=\"muted\">" + std::to_string(rows.size()) + " message(s), newest first (at most " +
         std::to_string(filter.limit) + ").</p><div class=\"scroll\"><table id=\"messages\"><thead><tr><th>Accepted</th>"
         "<th>Contract</th><th>Case</th><th>Producer</th><th>Message</th><th>Origin</th></tr></thead><tbody>";
  for (const auto& r : rows) {
    out += "<tr><td>" + time_text(r.accepted_at) + "</td><td>" + escape(r.contract) + " v" + std::to_string(r.version) +
           "</td><td><a href=\"/cases?case=" + url_encode(r.case_ref) + "\">" + escape(r.case_ref) + "</a></td><td>" +
           escape(r.sender) + "</td><td>" + message_link(r.message_id) + "</td><td>" + escape(r.origin) + "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

std::string render_message(const store::MessageRecord& m, const audit::EventLog& log, const ProofSummary& proofs,
                           const PayloadView& payload) {
  const auto& r = m.row;
  std::string origin = escape(r.origin);
  if (r.origin.rfind("resend:", 0) == 0) origin = "resend of " + message_link(r.origin.substr(7));
  std::string out = "<dl class=\"kv\" id=\"header\"><dt>Message</dt><dd><code>" + escape(r.message_id) +
                    "</code></dd><dt>Contract</dt><dd>" + escape(r.contract) + " v" + std::to_string(r.version) +
                    "</dd><dt>Case</dt><dd><a href=\"/cases?case=" + url_encode(r.case_ref) + "\">" +
                    escape(r.case_ref) + "</a></dd><dt>Producer</dt><dd>" + escape(r.sender) +
                    "</dd><dt>Recipients</dt><dd>" + list(m.recipients) + " <span class=\"muted\">(asked: " +
                    list(m.requested_recipients) + ")</span></dd><dt>Accepted</dt><dd>" + time_text(r.accepted_at) +
                    "</dd><dt>Occurred</dt><dd>" + time_text(m.occurred_at) + "</dd><dt>Correlation</dt><dd>" +
                    message_link(m.correlation_id) + "</dd><dt>Causation</dt><dd>" + message_link(m.causation_id) +
                    "</dd><dt>Supersedes</dt><dd>" + message_link(m.supersedes) + "</dd><dt>Origin</dt><dd>" +
                    (origin.empty() ? "\u2014" : origin) + "</dd><dt>Payload digest</dt><dd><code>" +
                    escape(m.payload_digest) + "</code>" + (m.sealed ? " (sealed in the store)" : "") + "</dd></dl>";

  out += "<h2>Deliveries</h2><div class=\"scroll\"><table id=\"deliveries\"><thead><tr><th>Delivery</th><th>Recipient</th>"
         "<th>State</th><th class=\"num\">Attempts</th><th>Last attempt</th><th>Acknowledged</th><th>Dead</th></tr>"
         "</thead><tbody>";
  for (const auto& d : m.deliveries) {
    const std::string state(store::to_string(d.state));
    out += "<tr class=\"" + std::string(d.state == store::DeliveryState::kDead ? "bad" : "") + "\" data-recipient=\"" +
           escape(d.recipient) + "\"><td>" + std::to_string(d.id) + "</td><td>" + escape(d.recipient) +
           "</td><td class=\"state\">" + state + "</td><td class=\"num\">" + std::to_string(d.attempts) + "</td><td>" +
           time_text(d.last_attempt_at) + "</td><td>" + time_text(d.acked_at) + "</td><td>" + time_text(d.dead_at) +
           "</td></tr>";
  }
  out += "</tbody></table></div>";

  out += render_checkpoint(proofs);
  if (!proofs.note.empty()) {
    out += "<p class=\"muted\">All of the case's signed events with their proofs in one file: <a id=\"case-bundle\" "
           "download href=\"/cases/bundle?case=" + url_encode(r.case_ref) + "\">case bundle</a> "
           "(<code>keten log verify --bundle FILE --signing-key KEY</code>).</p>";
  }
  out += "<div class=\"scroll\"><table id=\"events\"><thead><tr><th class=\"num\">Seq</th><th>At</th><th>Event</th>"
         "<th>What happened</th><th>Hash</th><th>Inclusion proof</th></tr></thead><tbody>";
  std::size_t i = 0;
  for (const auto& [seq, e] : log.events) {
    const std::string& hash = log.hash_of(seq);
    const EventProof* p = nullptr;
    for (; i < proofs.events.size() && !p; ++i) {
      if (proofs.events[i].seq == seq) p = &proofs.events[i];
    }
    out += "<tr data-seq=\"" + std::to_string(seq) + "\"><td class=\"num\">" + std::to_string(seq) + "</td><td>" +
           time_text(e.at) + "</td><td>" + escape(std::string(events::to_string(e.kind()))) + "</td><td class=\"what\">" +
           escape(events::describe(e)) + "</td><td><code title=\"" + escape(hash) + "\">" + escape(hash.substr(0, 16)) +
           "\u2026</code></td>" + proof_cell(r.message_id, seq, p) + "</tr>";
  }
  out += "</tbody></table></div><h2>Payload</h2>";
  if (!payload.reason.empty()) out += "<p class=\"muted\" id=\"payload-note\">" + escape(payload.reason) + "</p>";
  if (payload.shown) {
    if (!payload.removed.empty()) out += "<p class=\"muted\">Removed: " + list(payload.removed) + "</p>";
    out += "<pre id=\"payload\">" + escape(payload.text) + "</pre>";
  }
  return out;
}

}  // namespace broker::console
