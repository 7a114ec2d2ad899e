#pragma once
// Handover-log rows of every event kind as today's code writes them: the common columns as
// broker/core/event_detail.cpp's message_event and the delivery scheduler fill them, the details
// from event_detail.cpp's functions, and, where the detail is built inline (the alert in
// broker/ops/ops.cpp, log_read and resent in broker/cli/log_cmd.cpp) or the function is newer than
// this branch (undelivered_detail), the same expression copied.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker/audit/log_record.h"
#include "broker/core/event_detail.h"
#include "broker/events/legacy.h"
#include "contracts/digest.h"
#include "contracts/norms.h"

namespace events_test {

inline constexpr contracts::Millis kT0 = 1'741'000'000'000;  // 2025-03-03T11:06:40Z

inline contracts::Header header(std::string id, std::string contract = "departure.scheduled") {
  contracts::Header h;
  h.message_id = std::move(id);
  h.contract = std::move(contract);
  h.version = 1;
  h.case_ref = "9990012345";
  return h;
}

inline const std::string kDigest = contracts::sha256_hex("{\"person\":\"x\"}");

inline broker::audit::LogRecord message_row(const char* name, const contracts::Header& h, contracts::Millis offset,
                                            std::string detail = {}) {
  auto r = broker::core::message_event(name, h, "DTV", kDigest, kT0 + offset);
  r.detail = std::move(detail);
  return r;
}

inline broker::audit::LogRecord delivery_row(const char* name, const contracts::Header& h, contracts::Millis offset,
                                             std::string recipient, std::int64_t delivery_id, std::string detail = {}) {
  auto r = message_row(name, h, offset, std::move(detail));
  r.recipient = std::move(recipient);
  r.delivery_id = delivery_id;
  return r;
}

inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// At least one row of each of the 18 kinds, several shapes of the ones with optional fields.
inline std::vector<broker::audit::LogRecord> todays_rows() {
  using broker::core::Skipped;
  std::vector<broker::audit::LogRecord> rows;
  const auto dep = header("m-departure-1");
  contracts::Header full = header("m-full-2", "transport.ordered");
  full.correlation_id = "corr \"q\" \\ 1";
  full.causation_id = "m-departure-1";
  full.supersedes = "m-old";
  full.occurred_at = kT0 - 5000;
  full.recorded_at = kT0 - 4000;
  full.origin = "file:KLM/ünïcode €.json";

  // started: first start, and a later one after a config change.
  broker::audit::LogRecord first;
  first.at = kT0;
  first.event = "started";
  first.detail = broker::core::started_detail(std::string(64, 'c'), std::string(64, 'd'), std::string(64, 'e'), 7, 31, "");
  rows.push_back(first);
  broker::audit::LogRecord again = first;
  again.at = kT0 + 1;
  again.detail = broker::core::started_detail(std::string(64, 'f'), std::string(64, 'd'), "", 8, 31, first.detail);
  rows.push_back(again);

  rows.push_back(message_row("received", dep, 10, broker::core::received_detail(120)));
  rows.push_back(message_row("accepted", dep, 10, broker::core::accepted_detail(dep, {"KMAR", "DVO"})));
  rows.push_back(message_row("received", full, 11, broker::core::received_detail(4096)));
  rows.push_back(message_row("accepted", full, 11,
                             broker::core::accepted_detail(full, {}, {Skipped{"KMAR", "takes versions 2"}})));
  // event_detail_test's hostile texts: control characters, quotes, and invalid UTF-8 (which
  // today's writer replaces by U+FFFD).
  contracts::Header odd = header("m-odd-3");
  odd.causation_id = "cause\twith\ntabs\x01";
  odd.origin = "bad \xff byte";
  rows.push_back(message_row("accepted", odd, 11, broker::core::accepted_detail(odd, {"COA"})));
  rows.push_back(delivery_row("redacted", odd, 12, "DVO", 7,
                              broker::core::policy_detail({{"/a~1b\"q\\", "rule\twith\ncontrol\x01"},
                                                           {"/bad \xff", "medical:no-consent"}},
                                                          "consent:\"odd\" \xc3")));
  rows.push_back(message_row("rejected", header("m-bad", "transport.ordered"), 12,
                             broker::core::rejected_detail(contracts::ErrorCode::kSchemaViolation, "payload does not match",
                                                           {{"/std", "format", "not a date-time"},
                                                            {"", "required", "missing \"person\""}})));
  // A frame that never became a submit (broker.cpp reject_frame): sender only.
  broker::audit::LogRecord frame;
  frame.at = kT0 + 13;
  frame.event = "rejected";
  frame.sender = "KMAR";
  frame.detail = broker::core::rejected_detail(contracts::ErrorCode::kMalformedEnvelope, "frame failed the verifier", {});
  rows.push_back(frame);
  rows.push_back(message_row("duplicate", dep, 14, broker::core::duplicate_detail(kDigest, true)));
  rows.push_back(message_row("duplicate", dep, 15, broker::core::duplicate_detail(std::string(64, '9'), false)));
  rows.push_back(delivery_row("routed", dep, 10, "KMAR", 1));
  rows.push_back(delivery_row("delivered", dep, 1000, "KMAR", 1, broker::core::attempt_detail(1)));
  rows.push_back(delivery_row("redelivered", dep, 31000, "DVO", 2, broker::core::attempt_detail(2)));
  rows.push_back(delivery_row("acknowledged", dep, 2000, "KMAR", 1));
  // broker/core/event_detail.cpp undelivered_detail (on main since the delivery work): the same
  // expression, so this branch does not need it yet.
  rows.push_back(delivery_row("undelivered", dep, 1001, "KMAR", 1,
                              dump(nlohmann::json{{"attempt", 1}, {"reason", "connection gone (EHOSTUNREACH)"}})));
  rows.push_back(delivery_row("nacked", dep, 2500, "DVO", 2, broker::core::reason_detail("cannot parse <field> & more")));
  rows.push_back(delivery_row("dead_lettered", dep, 90000, "DVO", 2, broker::core::attempt_detail(5)));
  rows.push_back(delivery_row("dead_lettered", dep, 90001, "COA", 4, broker::core::reason_detail("sealed payload cannot be opened")));
  rows.push_back(delivery_row("redacted", dep, 999, "DVO", 2,
                              broker::core::policy_detail({{"/fit_to_travel", "medical:no-consent"},
                                                           {"/medication/days", "projection:KLM"}},
                                                          "")));
  rows.push_back(delivery_row("policy_allowed", dep, 999, "GZA", 3, broker::core::policy_detail({}, "consent:m-consent-1")));

  contracts::NormViolation open;
  open.norm_id = "departure-notice";
  open.kind = contracts::NormKind::kDeliveredBefore;
  open.recipient = "KMAR";
  open.due_at = kT0 + 3600000;
  open.late_by = 120000;
  open.explanation = "KMAR had not acknowledged it 48h before the departure";
  auto open_row = delivery_row("norm_violated", dep, 3720000, "KMAR", 0, broker::core::norm_violation_detail(open, false));
  rows.push_back(open_row);
  contracts::NormViolation closed = open;
  closed.kind = contracts::NormKind::kFollowUp;
  closed.recipient.clear();
  closed.expected_contract = "departure.outcome";
  closed.done_at = kT0 + 7200000;
  closed.late_by = 3600000;
  rows.push_back(message_row("norm_violated", dep, 7200000, broker::core::norm_violation_detail(closed, true)));

  // broker/ops/ops.cpp alert_event: the subject also in recipient, sender or contract.
  broker::audit::LogRecord alert;
  alert.at = kT0 + 60000;
  alert.event = "alert";
  alert.recipient = "DVO";
  alert.detail = dump(nlohmann::json{{"kind", "backlog"}, {"subject", "DVO"}, {"value", 1250.0}, {"threshold", 1000.0}});
  rows.push_back(alert);
  broker::audit::LogRecord silent = alert;
  silent.recipient.clear();
  silent.sender = "COA";
  silent.detail = dump(nlohmann::json{{"kind", "partner_silent"}, {"subject", "COA"}, {"value", 61234.5}, {"threshold", 60000.0}});
  rows.push_back(silent);

  // broker/cli/log_cmd.cpp record_read and resend.
  broker::audit::LogRecord read;
  read.at = kT0 + 99000;
  read.event = "log_read";
  read.case_ref = "9990012345";
  read.recipient = "KMAR";
  read.detail = dump(nlohmann::json{{"command", "keten log replay --store s.db --case 9990012345 --partner KMAR"},
                                    {"user", "inspecteur@laptop (uid 1000)"}});
  rows.push_back(read);
  auto resent = message_row("resent", dep, 100000);
  resent.recipient = "COA";
  resent.detail = dump(nlohmann::json{{"new_message_id", "m-departure-1-resent"},
                                      {"target", "tcp://127.0.0.1:5555"},
                                      {"status", "accepted"},
                                      {"target_log_seq", 4711},
                                      {"user", "beheer@host (uid 1001)"}});
  rows.push_back(resent);
  return rows;
}

inline broker::events::LegacyRow legacy(const broker::audit::LogRecord& r) {
  return {r.at,        r.event,     r.message_id,  r.contract,       r.version, r.case_ref,
          r.sender,    r.recipient, r.delivery_id, r.payload_digest, r.detail};
}

}  // namespace events_test
