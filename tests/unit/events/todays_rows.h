#pragma once
// Handover-log rows of every event kind as schema-4 brokers wrote them: the common columns as the
// broker filled them, and each `detail` text exactly as the broker's JSON writer produced it
// (broker/core/event_detail.cpp until the broker wrote typed events; the alert of broker/ops, and
// log_read and resent of broker/cli/log_cmd.cpp). Frozen here as text, because these are the rows
// a schema-4 store holds and the in-place migration must convert byte for byte: the converter is
// checked against them, not against a writer that no longer exists.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker/audit/log_record.h"
#include "broker/events/legacy.h"
#include "contracts/digest.h"
#include "contracts/envelope.h"

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

// The columns of a row about one message, as the broker filled them (sender DTV).
inline broker::audit::LogRecord message_row(const char* name, const contracts::Header& h, contracts::Millis offset,
                                            std::string detail = {}) {
  broker::audit::LogRecord r;
  r.at = kT0 + offset;
  r.event = name;
  r.message_id = h.message_id;
  r.contract = h.contract;
  r.version = h.version;
  r.case_ref = h.case_ref;
  r.sender = "DTV";
  r.payload_digest = kDigest;
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
  std::vector<broker::audit::LogRecord> rows;
  const auto dep = header("m-departure-1");
  const auto full = header("m-full-2", "transport.ordered");
  const auto odd = header("m-odd-3");

  // started: first start, a later one after a config change, and two with the clock the broker
  // read from the kernel (synchronised by adjtimex; unknown).
  broker::audit::LogRecord first;
  first.at = kT0;
  first.event = "started";
  first.detail = R"j({"config_changed":true,"config_digest":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","contracts":31,"contracts_changed":true,"contracts_digest":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","partners":7,"signing_key":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"})j";
  rows.push_back(first);
  broker::audit::LogRecord again = first;
  again.at = kT0 + 1;
  again.detail = R"j({"config_changed":true,"config_digest":"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","contracts":31,"contracts_changed":false,"contracts_digest":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","partners":8,"previous_config_digest":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","previous_contracts_digest":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","signing_key":""})j";
  rows.push_back(again);
  broker::audit::LogRecord clocked = first;
  clocked.at = kT0 + 2;
  clocked.detail = R"j({"clock":{"basis":"adjtimex","estimated_error_us":1500,"source":"tsc","sync":"synchronized"},"config_changed":true,"config_digest":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","contracts":31,"contracts_changed":true,"contracts_digest":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","partners":7,"signing_key":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"})j";
  rows.push_back(clocked);
  clocked.at = kT0 + 3;
  clocked.detail = R"j({"clock":{"basis":"adjtimex failed and no systemd-timesyncd flag","source":"","sync":"unknown"},"config_changed":true,"config_digest":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","contracts":31,"contracts_changed":true,"contracts_digest":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","partners":7,"signing_key":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"})j";
  rows.push_back(clocked);

  rows.push_back(message_row("received", dep, 10, R"j({"bytes":120})j"));
  rows.push_back(message_row("accepted", dep, 10, R"j({"recipients":["KMAR","DVO"]})j"));
  // With the sender's assurance, as the broker writes it for configured partners.
  rows.push_back(message_row("accepted", dep, 10, R"j({"assurance":"chain-partner","recipients":["KMAR","DVO"]})j"));
  rows.push_back(message_row("received", full, 11, R"j({"bytes":4096})j"));
  // Every optional field: quotes and backslashes in an id, non-ASCII in the origin, a skipped consumer.
  rows.push_back(message_row("accepted", full, 11, R"j({"causation_id":"m-departure-1","correlation_id":"corr \"q\" \\ 1","occurred_at":1740999995000,"origin":"file:KLM/ünïcode €.json","recipients":[],"recorded_at":1740999996000,"skipped":[{"partner":"KMAR","reason":"takes versions 2"}],"supersedes":"m-old"})j"));
  // Hostile texts: control characters, quotes, and invalid UTF-8 (which the writer replaced by U+FFFD).
  rows.push_back(message_row("accepted", odd, 11, R"j({"causation_id":"cause\twith\ntabs\u0001","origin":"bad � byte","recipients":["COA"]})j"));
  rows.push_back(delivery_row("redacted", odd, 12, "DVO", 7, R"j({"basis":"consent:\"odd\" �","removed":[{"pointer":"/a~1b\"q\\","rule":"rule\twith\ncontrol\u0001"},{"pointer":"/bad �","rule":"medical:no-consent"}]})j"));
  rows.push_back(message_row("rejected", header("m-bad", "transport.ordered"), 12, R"j({"code":"schema_violation","detail":"payload does not match","errors":[{"code":"format","pointer":"/std","reason":"not a date-time"},{"code":"required","pointer":"","reason":"missing \"person\""}]})j"));
  // A frame that never became a submit (broker.cpp reject_frame): sender only.
  broker::audit::LogRecord frame;
  frame.at = kT0 + 13;
  frame.event = "rejected";
  frame.sender = "KMAR";
  frame.detail = R"j({"code":"malformed_envelope","detail":"frame failed the verifier","errors":[]})j";
  rows.push_back(frame);
  rows.push_back(message_row("duplicate", dep, 14, R"j({"first_payload_digest":"a54660962b848f76ad2b986f1103c7f4a387eed7fcc8a4a451aaeeb20af8da28","same_payload":true})j"));
  rows.push_back(message_row("duplicate", dep, 15, R"j({"first_payload_digest":"9999999999999999999999999999999999999999999999999999999999999999","same_payload":false})j"));
  rows.push_back(delivery_row("routed", dep, 10, "KMAR", 1));
  rows.push_back(delivery_row("delivered", dep, 1000, "KMAR", 1, R"j({"attempt":1})j"));
  rows.push_back(delivery_row("redelivered", dep, 31000, "DVO", 2, R"j({"attempt":2})j"));
  rows.push_back(delivery_row("acknowledged", dep, 2000, "KMAR", 1));
  rows.push_back(delivery_row("undelivered", dep, 1001, "KMAR", 1, R"j({"attempt":1,"reason":"connection gone (EHOSTUNREACH)"})j"));
  rows.push_back(delivery_row("nacked", dep, 2500, "DVO", 2, R"j({"reason":"cannot parse <field> & more"})j"));
  rows.push_back(delivery_row("dead_lettered", dep, 90000, "DVO", 2, R"j({"attempt":5})j"));
  rows.push_back(delivery_row("dead_lettered", dep, 90001, "COA", 4, R"j({"reason":"sealed payload cannot be opened"})j"));
  rows.push_back(delivery_row("redacted", dep, 999, "DVO", 2, R"j({"basis":"","removed":[{"pointer":"/fit_to_travel","rule":"medical:no-consent"},{"pointer":"/medication/days","rule":"projection:KLM"}]})j"));
  rows.push_back(delivery_row("policy_allowed", dep, 999, "GZA", 3, R"j({"basis":"consent:m-consent-1","removed":[]})j"));
  // norm_violated: open, closed after being open, and open with who was late, the obligation's key
  // and the message whose obligation a correction carries.
  rows.push_back(delivery_row("norm_violated", dep, 3720000, "KMAR", 0, R"j({"by_ms":120000,"done_at":0,"due_at":1741003600000,"explanation":"KMAR had not acknowledged it 48h before the departure","kind":"delivered_before","norm":"departure-notice","state":"open"})j"));
  rows.push_back(message_row("norm_violated", dep, 7200000, R"j({"by_ms":3600000,"done_at":1741007200000,"due_at":1741003600000,"expected_contract":"departure.outcome","explanation":"KMAR had not acknowledged it 48h before the departure","kind":"follow_up","norm":"departure-notice","state":"closed","was_open":true})j"));
  rows.push_back(delivery_row("norm_violated", dep, 3720001, "KMAR", 0, R"j({"by_ms":120000,"corrects":"m-first","done_at":0,"due_at":1741003600000,"explanation":"x","key":"departure-notice|m-1|KMAR","kind":"delivered_before","late_party":"KMAR","norm":"departure-notice","state":"open"})j"));

  // broker/ops/ops.cpp alert_event: the subject also in recipient, sender or contract.
  broker::audit::LogRecord alert;
  alert.at = kT0 + 60000;
  alert.event = "alert";
  alert.recipient = "DVO";
  alert.detail = R"j({"kind":"backlog","subject":"DVO","threshold":1000.0,"value":1250.0})j";
  rows.push_back(alert);
  broker::audit::LogRecord silent = alert;
  silent.recipient.clear();
  silent.sender = "COA";
  silent.detail = R"j({"kind":"partner_silent","subject":"COA","threshold":60000.0,"value":61234.5})j";
  rows.push_back(silent);

  // broker/cli/log_cmd.cpp record_read and resend.
  broker::audit::LogRecord read;
  read.at = kT0 + 99000;
  read.event = "log_read";
  read.case_ref = "9990012345";
  read.recipient = "KMAR";
  read.detail = R"j({"command":"keten log replay --store s.db --case 9990012345 --partner KMAR","user":"inspecteur@laptop (uid 1000)"})j";
  rows.push_back(read);
  auto resent = message_row("resent", dep, 100000);
  resent.recipient = "COA";
  resent.detail = R"j({"new_message_id":"m-departure-1-resent","status":"accepted","target":"tcp://127.0.0.1:5555","target_log_seq":4711,"user":"beheer@host (uid 1001)"})j";
  rows.push_back(resent);

  // Kinds newer than schema 4 (retention, docs/operations.md): no broker wrote them as rows; here
  // in the form to_legacy_row gives, so that every kind is covered.
  broker::audit::LogRecord shredded;
  shredded.at = kT0 + 200000;
  shredded.event = "shredded";
  shredded.case_ref = "9990012345";
  shredded.detail = R"j({"messages":2,"rules":[{"contract":"departure.scheduled","legal_basis":"Vw 2000 art. 107","retention":"P5Y","version":1}]})j";
  rows.push_back(shredded);
  broker::audit::LogRecord hold;
  hold.at = kT0 + 150000;
  hold.event = "hold";
  hold.case_ref = "9990012345";
  hold.detail = R"j({"reason":"court case 2026/123","user":"beheer@host (uid 1001)"})j";
  rows.push_back(hold);
  auto release = hold;
  release.at = kT0 + 160000;
  release.event = "release";
  release.detail = R"j({"reason":"case closed","user":"beheer@host (uid 1001)"})j";
  rows.push_back(release);
  // Processed (docs/protocol.md, "Processed"): KMAR refused the delivery it acknowledged at +2000.
  rows.push_back(delivery_row("processed", dep, 2500, "KMAR", 1,
                              R"j({"acknowledged_at":)j" + std::to_string(kT0 + 2000) +
                                  R"j(,"outcome":"refused","reason":"case unknown here"})j"));
  return rows;
}

inline broker::events::LegacyRow legacy(const broker::audit::LogRecord& r) {
  return {r.at,        r.event,     r.message_id,  r.contract,       r.version, r.case_ref,
          r.sender,    r.recipient, r.delivery_id, r.payload_digest, r.detail};
}

}  // namespace events_test
