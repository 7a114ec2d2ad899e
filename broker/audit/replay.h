#pragma once
// Replay: the timeline of one case from the handover log's events alone, optionally narrowed to
// one partner and cut at a moment (what that partner had received and acknowledged by then), and
// its renderings as text, JSON and one self-contained HTML page. Each event's sentence, text line,
// JSON object and HTML card come from broker/events/render.h; this file adds what concerns the
// case as a whole. Pure functions; nlohmann stays in replay.cpp.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/audit/log_events.h"
#include "broker/audit/payload_check.h"
#include "broker/events/render.h"

namespace broker::audit {

struct ReplayQuery {
  std::string case_ref;
  std::string partner;  // "" = every partner
  Millis as_of = 0;     // 0 = everything logged
};

// One message as a partner knew it at the as-of moment.
struct MessageView {
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  std::string sender;
  std::string payload_digest;  // hex
  Millis accepted_at = 0;
  Millis delivered_at = 0;     // first delivery to the partner (0 = not delivered)
  Millis acked_at = 0;         // 0 = not acknowledged by then
  Millis dead_at = 0;          // 0 = not dead-lettered by then
  // What the partner reported after acknowledging (the `processed` event): 0 = not reported by then.
  Millis processed_at = 0;
  contracts::ProcessedOutcome processed_outcome = contracts::ProcessedOutcome::kDone;
  std::string processed_reason;  // refused: why; done: the optional note
  std::uint32_t attempts = 0;  // sends to the partner by then
  std::vector<std::string> removed_fields;  // JSON pointers policy removed for the partner
  // The evidence values the accepted event records (broker/events/event.h); in a partner's
  // received list only those of fields it received (not removed by policy for it).
  std::vector<events::Evidence> evidence;
};

struct Timeline {
  ReplayQuery query;
  std::vector<events::LoggedEvent> events;      // the case's events in seq order, filtered by the query
  std::unordered_map<std::uint64_t, std::string> hashes;  // of `events`, by seq, as the log gave them
  std::vector<std::string> partners;            // partners in the events, in order of first appearance
  std::vector<MessageView> received;            // with a partner: delivered to it by as_of, in order
  std::vector<MessageView> sent;                // with a partner: accepted from it by as_of, in order
  std::vector<events::LoggedEvent> violations;  // norm_violated events among `events`
  // Replay on a store only (the CLI fills it): each accepted message's stored payload checked
  // against the digest its accepted event records (payload_check.h), by message id. With
  // `partner`, only the messages that partner sent or received.
  std::unordered_map<std::string, PayloadCheck> payload_checks;
  // Replay on a store only (the CLI fills it): the store's shortcut rows of its tree found changed
  // while the case's events were proven without them (rooted_proof.h), each named. Findings: the
  // events hold, the file was changed after it was written.
  std::vector<std::string> damaged_shortcuts;
  // Opens sealed evidence values when the broker's payload key was given; empty: "(sealed)".
  events::Unsealer unseal;
};

Timeline build_timeline(const EventLog& log, const ReplayQuery& query);

// A norm_violated event read for people: who was late, what was due when, by how much, and
// whether it was still open when the broker looked or was met late. Events written before
// `late_party` existed name the recipient, the expected follow-up's producer, or the sender instead.
struct ViolationView {
  std::uint64_t seq = 0;
  std::string norm;
  std::string kind;
  std::string message;            // "departure.scheduled v1 (id 3b9a4c1e)"
  std::string late_party;         // who was late
  std::string expected_contract;  // a follow-up that came late or not at all
  Millis due_at = 0;
  Millis done_at = 0;             // 0 while open
  Millis late_by = 0;             // how late (done - due), or how overdue when the event was logged
  bool open = false;              // still not met when the event was logged
  bool met_in_time = false;       // closes an open one: the payload time shows it was met in time
  Millis checked_at = 0;          // when the event was logged
  std::string corrects;           // the first message of a correction chain whose obligation this is
  std::string explanation;
};
// Of a norm_violated event (other kinds give an empty view with seq and time).
ViolationView violation_view(const events::LoggedEvent& event);

// UTC with milliseconds: 2025-03-03T08:12:00.000Z.
std::string format_time(Millis millis);

// One sentence on what was checked and what it showed ("log intact: ...", "case events proven:
// ...", "LOG NOT INTACT: ..."): the first line of every rendering, and the console's case page.
std::string verification_line(const VerifyReport& v);
std::string render_text(const Timeline& timeline, const VerifyReport& verification);
std::string render_json(const Timeline& timeline, const VerifyReport& verification);
// One page with inline CSS, no scripts and no external references.
std::string render_html(const Timeline& timeline, const VerifyReport& verification);

}  // namespace broker::audit
