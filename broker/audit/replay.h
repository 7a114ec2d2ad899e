#pragma once
// Replay: the timeline of one case from the handover log alone, optionally narrowed to one
// partner and cut at a moment (what that partner had received and acknowledged by then), and its
// renderings as text, JSON and one self-contained HTML page. Pure functions; nlohmann stays in
// replay.cpp.

#include <string>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/audit/log_record.h"

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
  std::string payload_digest;
  Millis accepted_at = 0;
  Millis delivered_at = 0;     // first delivery to the partner (0 = not delivered)
  Millis acked_at = 0;         // 0 = not acknowledged by then
  Millis dead_at = 0;          // 0 = not dead-lettered by then
  std::uint32_t attempts = 0;  // sends to the partner by then
  std::vector<std::string> removed_fields;  // JSON pointers policy removed for the partner
};

struct Timeline {
  ReplayQuery query;
  std::vector<LogRecord> events;        // the case's rows in seq order, filtered by the query
  std::vector<std::string> partners;    // partners in the events, in order of first appearance
  std::vector<MessageView> received;    // with a partner: delivered to it by as_of, in order
  std::vector<MessageView> sent;        // with a partner: accepted from it by as_of, in order
  std::vector<LogRecord> violations;    // norm_violated events among `events`
};

Timeline build_timeline(const std::vector<LogRecord>& rows, const ReplayQuery& query);

// One sentence for a person, e.g. "KMAR acknowledged departure.scheduled v1 (delivery 4)".
std::string describe(const LogRecord& row);
// The partner lane an event belongs to: the recipient for delivery events, else the sender.
std::string lane_of(const LogRecord& row);
// UTC with milliseconds: 2025-03-03T08:12:00.000Z.
std::string format_time(Millis millis);

std::string render_text(const Timeline& timeline, const VerifyReport& verification);
std::string render_json(const Timeline& timeline, const VerifyReport& verification);
// One page with inline CSS, no scripts and no external references.
std::string render_html(const Timeline& timeline, const VerifyReport& verification);

}  // namespace broker::audit
