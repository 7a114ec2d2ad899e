#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <sqlite3.h>
#include <type_traits>

#include "broker/core/delivery.h"
#include "broker/core/pipeline.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"
#include "tests/support/core_fixture.h"

namespace {

// Replaces a stored payload behind the store's back with `text`, sealed as the store seals it (under
// the message's case key, unwrapped with the fixture's payload key), so that a read from the store
// shows the change.
void replace_stored_payload(broker::store::SqliteStore& store, const std::string& message_id, const std::string& text) {
  sqlite3* db = store.connection();
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT k.case_ref, k.message_id, k.wrapped_key, m.payload_digest FROM messages m "
                             "JOIN case_keys k ON k.id = m.case_key WHERE m.message_id = ?",
                             -1, &raw, nullptr) == SQLITE_OK);
  sqlite3_bind_text(raw, 1, message_id.c_str(), -1, SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(raw) == SQLITE_ROW);
  auto column = [raw](int c) {
    return std::string(static_cast<const char*>(sqlite3_column_blob(raw, c)),
                       static_cast<std::size_t>(sqlite3_column_bytes(raw, c)));
  };
  const std::string case_ref = column(0), key_owner = column(1), wrapped = column(2), digest = column(3);
  sqlite3_finalize(raw);
  auto key = broker::store::open_payload(std::string(32, 'k'), wrapped,
                                         broker::store::case_key_associated_data(case_ref, key_owner));
  REQUIRE(key);
  auto sealed = broker::store::seal_payload(*key, text, broker::store::payload_associated_data(message_id, digest));
  REQUIRE(sealed);
  REQUIRE(sqlite3_prepare_v2(db, "UPDATE messages SET payload = ? WHERE message_id = ?", -1, &raw, nullptr) == SQLITE_OK);
  sqlite3_bind_blob(raw, 1, sealed->data(), static_cast<int>(sealed->size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, message_id.c_str(), -1, SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(raw) == SQLITE_DONE);
  sqlite3_finalize(raw);
}

// The delivery policy cannot be skipped: only DeliveryPolicy::clear makes the frames the
// scheduler sends (delivery_policy.h). Compiling this file checks it.
static_assert(!std::is_constructible_v<broker::core::ClearedDeliver, contracts::Deliver>,
              "a Deliver frame must pass DeliveryPolicy::clear to be sent");

using broker::core::DeliveryScheduler;
using broker::core::Outgoing;
using contracts::Millis;

constexpr Millis kT0 = 1'700'000'000'000;

struct Fixture {
  test_support::TempDir dir;
  broker::store::SqliteStore store = test_support::open_store(dir);
  contracts::ContractRegistry registry = test_support::load_test_contracts();
  std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE"};
  broker::core::BrokerOptions options = [] {
    broker::core::BrokerOptions o;
    o.ack_timeout = std::chrono::milliseconds(1000);
    o.session_timeout = std::chrono::milliseconds(5000);
    o.max_attempts = 3;
    return o;
  }();
  DeliveryScheduler scheduler{store, options};

  int submitted = 0;  // messages are m-0, m-1, ... across calls

  // Submits n messages to BRAVO in one transaction. With `send_at_once`, as the broker loop does:
  // the pipeline asks the scheduler to send each delivery at acceptance (reserve/send_reserved)
  // and hands it the others (add_pending). Returns how many were sent at once.
  std::size_t submit(int n, bool send_at_once = false) {
    REQUIRE(store.begin());
    broker::core::PipelineDeps deps{store, registry, partners};
    if (send_at_once) deps.scheduler = &scheduler;
    std::size_t reserved = 0;
    for (int i = 0; i < n; ++i) {
      auto s = test_support::notice_submit("m-" + std::to_string(submitted++),
                                           R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[]})");
      s.header.recipients = {"BRAVO"};
      auto out = broker::core::process_submit(deps, "ALPHA", s, kT0);
      REQUIRE(out);
      REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
      for (auto& r : out->reserved) {
        REQUIRE(scheduler.send_reserved(std::move(r.delivery), r.routing_id, kT0));
        ++reserved;
      }
      if (send_at_once) {
        for (auto& d : out->pending) scheduler.add_pending(std::move(d));
      } else {
        scheduler.mark_dirty(out->recipients_with_new_deliveries);
      }
    }
    REQUIRE(store.commit());
    return reserved;
  }

  std::vector<std::string> ids(const std::vector<contracts::Deliver>& frames) {
    std::vector<std::string> out;
    for (const auto& f : frames) out.push_back(f.header.message_id);
    return out;
  }

  // One loop turn's worth of scheduler work in a transaction.
  std::vector<contracts::Deliver> turn(Millis now) {
    REQUIRE(store.begin());
    REQUIRE(scheduler.expire(now));
    auto out = scheduler.pump(now);
    REQUIRE(out);
    REQUIRE(store.commit());
    std::vector<contracts::Deliver> frames;
    for (const auto& o : *out) {
      auto e = contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(o.bytes.data()), o.bytes.size()));
      REQUIRE(e);
      frames.push_back(std::get<contracts::Deliver>(*e));
    }
    return frames;
  }

  // The seq of the `acknowledged` event the ack logged (0: acknowledged before).
  contracts::Result<std::uint64_t> ack(std::uint64_t id, Millis now, const std::string& partner = "BRAVO",
                                       const std::string& routing_id = "conn-1") {
    REQUIRE(store.begin());
    auto r = scheduler.on_ack(routing_id, partner, id, now);
    REQUIRE(store.commit());
    return r;
  }

  broker::store::DeliveryCounts counts() {
    auto c = store.count_deliveries("BRAVO");
    REQUIRE(c);
    return *c;
  }
};

}  // namespace

TEST_CASE("scheduler delivers nothing before the recipient gives credit", "[core][delivery]") {
  Fixture f;
  f.submit(3);
  CHECK(f.turn(kT0).empty());
  CHECK(f.counts().pending == 3);
}

TEST_CASE("scheduler respects the credit window and refills it on ack", "[core][delivery]") {
  Fixture f;
  f.submit(5);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 2, kT0));
  auto first = f.turn(kT0);
  REQUIRE(first.size() == 2);
  CHECK(first[0].header.message_id == "m-0");
  CHECK(first[0].attempt == 1);
  CHECK(first[0].sender == "ALPHA");
  CHECK(f.turn(kT0).empty());  // window full
  REQUIRE(f.ack(first[0].delivery_id, kT0 + 10));
  auto next = f.turn(kT0 + 10);
  REQUIRE(next.size() == 1);
  CHECK(next[0].header.message_id == "m-2");
  CHECK(f.counts().acked == 1);
  CHECK(f.counts().in_flight == 2);
}

TEST_CASE("a credit above max_credit holds no more than max_credit deliveries", "[core][delivery]") {
  Fixture f;
  f.options.max_credit = 2;
  f.submit(5);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1'000'000, kT0));
  CHECK(f.turn(kT0).size() == 2);
  CHECK(f.turn(kT0).empty());
  CHECK(f.counts().pending == 3);
}

TEST_CASE("scheduler redelivers after the ack timeout with the next attempt number", "[core][delivery]") {
  Fixture f;
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0));
  auto first = f.turn(kT0);
  REQUIRE(first.size() == 1);
  f.scheduler.touch("conn-1", kT0 + 1500);
  auto again = f.turn(kT0 + 1500);
  REQUIRE(again.size() == 1);
  CHECK(again[0].delivery_id == first[0].delivery_id);
  CHECK(again[0].attempt == 2);
}

TEST_CASE("scheduler dead-letters a delivery after max_attempts sends to a connection that reads", "[core][delivery]") {
  Fixture f;
  f.submit(2);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  auto first = f.turn(kT0);
  REQUIRE(f.ids(first) == std::vector<std::string>{"m-0"});
  REQUIRE(f.ack(first[0].delivery_id, kT0));  // conn-1 reads: its timeouts count
  Millis now = kT0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    f.scheduler.touch("conn-1", now);
    auto sent = f.turn(now);
    REQUIRE(f.ids(sent) == std::vector<std::string>{"m-1"});
    CHECK(sent[0].attempt == static_cast<std::uint32_t>(attempt));
    now += 1500;
  }
  f.scheduler.touch("conn-1", now);
  CHECK(f.turn(now).empty());
  CHECK(f.counts().dead == 1);
  auto log = f.store.read_log(0, 100);
  REQUIRE(log);
  CHECK(log->back().event == "dead_lettered");
}

TEST_CASE("scheduler returns a goodbye connection's deliveries at once", "[core][delivery]") {
  Fixture f;
  f.submit(2);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0));
  REQUIRE(f.turn(kT0).size() == 2);
  REQUIRE(f.store.begin());
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 0, kT0 + 1));
  REQUIRE(f.store.commit());
  CHECK(f.counts().pending == 2);
  REQUIRE(f.scheduler.on_credit("conn-2", "BRAVO", 8, kT0 + 2));
  auto again = f.turn(kT0 + 2);
  REQUIRE(again.size() == 2);
  CHECK(again[0].attempt == 2);
}

TEST_CASE("scheduler forgets a silent connection and redelivers to the next one", "[core][delivery]") {
  Fixture f;
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0));
  REQUIRE(f.turn(kT0).size() == 1);
  REQUIRE(f.scheduler.on_credit("conn-2", "BRAVO", 8, kT0 + 5500));
  auto again = f.turn(kT0 + 5500);  // conn-1 silent for 5.5 s > session_timeout
  REQUIRE(again.size() == 1);
  CHECK(f.scheduler.session_count() == 1);
}

TEST_CASE("scheduler refuses an ack for a delivery the partner does not hold", "[core][delivery]") {
  Fixture f;
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0));
  auto sent = f.turn(kT0);
  REQUIRE(sent.size() == 1);
  auto wrong_partner = f.ack(sent[0].delivery_id, kT0, "CHARLIE");
  REQUIRE_FALSE(wrong_partner);
  CHECK(wrong_partner.error().code == contracts::ErrorCode::kUnknownDelivery);
  auto no_such = f.ack(999, kT0);
  REQUIRE_FALSE(no_such);
  CHECK(no_such.error().code == contracts::ErrorCode::kUnknownDelivery);
  auto logged = f.ack(sent[0].delivery_id, kT0);
  REQUIRE(logged);
  CHECK(*logged > 0);  // the seq of its `acknowledged` event
  auto repeated = f.ack(sent[0].delivery_id, kT0);
  REQUIRE(repeated);   // a repeated ack is harmless
  CHECK(*repeated == 0);  // and logs nothing
  CHECK(f.counts().acked == 1);
}

TEST_CASE("scheduler honours a late ack after the delivery went back to pending", "[core][delivery]") {
  Fixture f;
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  auto sent = f.turn(kT0);
  REQUIRE(sent.size() == 1);
  REQUIRE(f.store.begin());
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 0, kT0 + 1));  // goodbye: back to pending
  REQUIRE(f.store.commit());
  CHECK(f.ack(sent[0].delivery_id, kT0 + 2));
  CHECK(f.counts().acked == 1);
  CHECK(f.counts().pending == 0);
}

TEST_CASE("scheduler retries a nacked delivery after a back-off", "[core][delivery]") {
  Fixture f;
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  auto sent = f.turn(kT0);
  REQUIRE(sent.size() == 1);
  REQUIRE(f.store.begin());
  REQUIRE(f.scheduler.on_nack("conn-1", "BRAVO", sent[0].delivery_id, "cannot parse", kT0 + 10));
  REQUIRE(f.store.commit());
  f.scheduler.touch("conn-1", kT0 + 20);
  CHECK(f.turn(kT0 + 20).empty());  // still backing off
  f.scheduler.touch("conn-1", kT0 + 1100);
  auto again = f.turn(kT0 + 1100);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 2);
}

TEST_CASE("scheduler redacts per recipient and logs each policy decision", "[core][delivery][policy]") {
  test_support::TempDir dir;
  auto store = test_support::open_store(dir);
  auto registry = test_support::load_test_contracts();
  broker::core::BrokerOptions options;
  options.partners = {{"ALPHA", "", broker::core::PartnerRole::kChainPartner, ""},
                      {"BRAVO", "", broker::core::PartnerRole::kCareProvider, ""},
                      {"CHARLIE", "", broker::core::PartnerRole::kNonChain, ""},
                      {"DELTA", "", broker::core::PartnerRole::kChainPartner, ""}};
  std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE", "DELTA"};
  auto sensitive = broker::core::sensitive_by_contract(registry);
  REQUIRE(sensitive);
  DeliveryScheduler scheduler(store, options, &registry, &*sensitive);

  REQUIRE(store.begin());
  broker::core::PipelineDeps deps{store, registry, partners};
  contracts::Submit s;
  s.header.message_id = "h-1";
  s.header.contract = "test.health";
  s.header.version = 1;
  s.header.case_ref = "9990012345";
  s.payload = R"({"fit_to_travel":"yes-with-conditions","transport_requirements":["WHEELCHAIR"],"escort":"NURSE",
                  "medication":{"days":14,"carry":true},"contact_point":"+31 00 000 0000"})";
  auto out = broker::core::process_submit(deps, "ALPHA", s, kT0);
  REQUIRE(out);
  REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
  scheduler.mark_dirty(out->recipients_with_new_deliveries);
  for (const char* p : {"BRAVO", "CHARLIE", "DELTA"}) REQUIRE(scheduler.on_credit(std::string("conn-") + p, p, 4, kT0));
  auto frames = scheduler.pump(kT0);
  REQUIRE(frames);
  REQUIRE(store.commit());

  std::map<std::string, contracts::Deliver> by_recipient;
  for (const auto& f : *frames) {
    auto e = contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(f.bytes.data()), f.bytes.size()));
    REQUIRE(e);
    by_recipient[f.routing_id.substr(5)] = std::get<contracts::Deliver>(*e);
  }
  REQUIRE(by_recipient.size() == 3);
  // The care provider gets everything.
  CHECK(by_recipient["BRAVO"].payload == s.payload);
  CHECK(by_recipient["BRAVO"].removed_fields.empty());
  // A chain partner without consent: medical fields removed and listed.
  CHECK(by_recipient["DELTA"].removed_fields == std::vector<std::string>{"/fit_to_travel", "/medication/days"});
  CHECK(by_recipient["DELTA"].payload.find("fit_to_travel") == std::string::npos);
  CHECK(by_recipient["DELTA"].payload.find("\"carry\":true") != std::string::npos);
  // The non-chain party: only its projection.
  CHECK(by_recipient["CHARLIE"].payload == R"({"escort":"NURSE","transport_requirements":["WHEELCHAIR"]})");

  auto log = store.read_log(0, 100);
  REQUIRE(log);
  std::map<std::string, std::string> policy_event;  // recipient -> event
  for (const auto& row : *log) {
    if (row.event == "redacted" || row.event == "policy_allowed") {
      policy_event[row.recipient] = row.event;
      CHECK(row.detail.find("yes-with-conditions") == std::string::npos);  // never values
    }
  }
  CHECK(policy_event["BRAVO"] == "policy_allowed");
  CHECK(policy_event["DELTA"] == "redacted");
  CHECK(policy_event["CHARLIE"] == "redacted");
}

TEST_CASE("a stored payload that no longer opens is dead-lettered and the others still go", "[core][delivery][seal]") {
  Fixture f;
  REQUIRE(f.store.begin());
  broker::core::PipelineDeps deps{f.store, f.registry, f.partners};
  for (const char* id : {"bad", "good"}) {
    contracts::Submit s;
    s.header.message_id = id;
    s.header.contract = "test.health";  // medical fields: stored sealed
    s.header.version = 1;
    s.header.case_ref = "9990012345";
    s.header.recipients = {"BRAVO"};
    s.payload = R"({"fit_to_travel":"no","transport_requirements":["LYING"]})";
    auto out = broker::core::process_submit(deps, "ALPHA", s, kT0);
    REQUIRE(out);
    REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
  }
  REQUIRE(f.store.commit());
  f.scheduler.mark_dirty(std::vector<std::string>{"BRAVO"});
  {  // someone with write access flips a byte of one sealed payload
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open((f.dir / "k.db").string().c_str(), &raw) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, "UPDATE messages SET payload = substr(payload, 1, 30) || "
                            "CASE WHEN substr(payload, 31, 1) = x'00' THEN x'01' ELSE x'00' END || substr(payload, 32) "
                            "WHERE message_id = 'bad'", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  REQUIRE(f.store.begin());
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 10, kT0));
  REQUIRE(f.store.commit());
  auto frames = f.turn(kT0);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].header.message_id == "good");
  CHECK(f.counts().dead == 1);
  auto rows = f.store.read_log(0, 1000);
  REQUIRE(rows);
  bool logged = false;
  for (const auto& r : *rows) {
    if (r.event == "dead_lettered" && r.message_id == "bad") logged = r.detail.find("does not open") != std::string::npos;
  }
  CHECK(logged);
}

TEST_CASE("a scheduler with contracts but no sensitive fields looked up sends nothing", "[core][delivery][policy]") {
  test_support::TempDir dir;
  auto store = test_support::open_store(dir);
  auto registry = test_support::load_test_contracts();
  broker::core::BrokerOptions options;
  options.partners = {{"ALPHA", "", broker::core::PartnerRole::kChainPartner, ""},
                      {"BRAVO", "", broker::core::PartnerRole::kChainPartner, ""}};
  std::vector<std::string> partners{"ALPHA", "BRAVO"};
  DeliveryScheduler scheduler(store, options, &registry);  // no sensitive fields given: fails closed
  REQUIRE(store.begin());
  broker::core::PipelineDeps deps{store, registry, partners};
  auto out = broker::core::process_submit(deps, "ALPHA", test_support::notice_submit("n-1"), 1'700'000'000'000);
  REQUIRE(out);
  REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
  scheduler.mark_dirty(std::string("BRAVO"));
  REQUIRE(scheduler.on_credit("conn-b", "BRAVO", 4, 1'700'000'000'000));
  auto sent = scheduler.pump(1'700'000'000'000);
  REQUIRE_FALSE(sent);
  CHECK(sent.error().code == contracts::ErrorCode::kConfig);
  store.rollback();
}

TEST_CASE("a delivery is sent at acceptance when its recipient has credit and nothing waits", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 4, kT0));
  CHECK(f.submit(1, true) == 0);  // nothing known yet about what waits in the store: stored pending
  REQUIRE(f.turn(kT0).size() == 1);  // that pump finds the store drained for BRAVO
  CHECK(f.submit(2, true) == 2);
  // In flight in the store before any pump, attempt 1, never pending.
  CHECK(f.counts().in_flight == 3);
  CHECK(f.counts().pending == 0);
  auto sent = f.turn(kT0);
  REQUIRE(f.ids(sent) == std::vector<std::string>{"m-1", "m-2"});
  CHECK(sent[0].attempt == 1);
  CHECK(sent[0].sender == "ALPHA");
  CHECK(sent[0].header.recipients == std::vector<std::string>{"BRAVO"});
  CHECK(sent[0].payload == R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[]})");
  // The same frame the pending path would have built (what next_pending reads back).
  auto stored = f.store.find_outbound(static_cast<std::int64_t>(sent[1].delivery_id));
  REQUIRE(stored);
  REQUIRE(*stored);
  CHECK((*stored)->header.message_id == "m-2");
  CHECK((*stored)->attempts == 1);
  CHECK((*stored)->payload == sent[1].payload);
  CHECK((*stored)->accepted_at == sent[1].accepted_at);
  // Logged like any first send, and acknowledged like one.
  auto log = f.store.read_log(0, 1000);
  REQUIRE(log);
  int delivered = 0;
  for (const auto& row : *log) delivered += row.event == "delivered" && row.message_id == "m-2";
  CHECK(delivered == 1);
  CHECK(f.ack(sent[1].delivery_id, kT0 + 5));
  CHECK(f.counts().acked == 1);
}

TEST_CASE("a new delivery waits behind older pending ones of its recipient", "[core][delivery]") {
  Fixture f;
  f.submit(3);  // pending, nobody connected
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0));
  CHECK(f.submit(1, true) == 0);  // m-0..m-2 wait in the store: m-3 goes behind them
  CHECK(f.ids(f.turn(kT0)) == std::vector<std::string>{"m-0", "m-1", "m-2", "m-3"});
  CHECK(f.submit(1, true) == 1);  // drained now: m-4 goes at once
  CHECK(f.ids(f.turn(kT0)) == std::vector<std::string>{"m-4"});
}

TEST_CASE("a delivery is stored pending when its recipient's credit is used up", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  CHECK(f.turn(kT0).empty());
  CHECK(f.submit(2, true) == 1);  // m-0 takes the one credit, m-1 waits
  CHECK(f.counts().pending == 1);
  auto first = f.turn(kT0);
  REQUIRE(f.ids(first) == std::vector<std::string>{"m-0"});
  CHECK(f.submit(1, true) == 0);  // m-1 still waits: m-2 goes behind it
  REQUIRE(f.ack(first[0].delivery_id, kT0 + 1));
  CHECK(f.ids(f.turn(kT0 + 1)) == std::vector<std::string>{"m-1"});
}

TEST_CASE("a delivery back to pending stops sending at acceptance until it is sent again", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 4, kT0));
  CHECK(f.turn(kT0).empty());
  CHECK(f.submit(1, true) == 1);
  REQUIRE(f.turn(kT0).size() == 1);
  // The ack timeout (1 s) passes: m-0 goes back to pending at the next expire.
  f.scheduler.touch("conn-1", kT0 + 1500);
  REQUIRE(f.store.begin());
  REQUIRE(f.scheduler.expire(kT0 + 1500));
  REQUIRE(f.store.commit());
  CHECK(f.submit(1, true) == 0);  // m-1 must not overtake m-0
  auto again = f.turn(kT0 + 1500);
  REQUIRE(f.ids(again) == std::vector<std::string>{"m-0", "m-1"});
  CHECK(again[0].attempt == 2);
  CHECK(again[1].attempt == 1);
}

TEST_CASE("a rolled-back transaction forgets deliveries reserved in it", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 4, kT0));
  CHECK(f.turn(kT0).empty());
  REQUIRE(f.store.begin());
  broker::core::PipelineDeps deps{f.store, f.registry, f.partners};
  deps.scheduler = &f.scheduler;
  auto s = test_support::notice_submit("lost");
  s.header.recipients = {"BRAVO"};
  auto out = broker::core::process_submit(deps, "ALPHA", s, kT0);
  REQUIRE(out);
  REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
  REQUIRE(out->reserved.size() == 1);
  REQUIRE(f.scheduler.send_reserved(std::move(out->reserved[0].delivery), out->reserved[0].routing_id, kT0));
  f.store.rollback();  // as the broker loop after a failed commit
  f.scheduler.reset();
  CHECK(f.scheduler.in_flight_count() == 0);
  CHECK(f.turn(kT0).empty());  // the reserved frame is not sent
  CHECK(f.submit(4, false) == 0);
  CHECK(f.turn(kT0).size() == 4);  // the whole credit is free again
}

TEST_CASE("deliveries stored pending while nothing else waits are sent from memory, in order", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  CHECK(f.turn(kT0).empty());
  CHECK(f.submit(3, true) == 1);  // m-0 at once; m-1 and m-2 stored pending and kept
  CHECK(f.counts().pending == 2);
  // Change what the store holds for m-1: a pump that read it back would send this text.
  replace_stored_payload(f.store, "m-1", R"({"changed":true})");
  auto first = f.turn(kT0);
  REQUIRE(f.ids(first) == std::vector<std::string>{"m-0"});
  REQUIRE(f.ack(first[0].delivery_id, kT0 + 1));
  auto second = f.turn(kT0 + 1);
  REQUIRE(f.ids(second) == std::vector<std::string>{"m-1"});
  CHECK(second[0].payload.find("changed") == std::string::npos);
  CHECK(second[0].attempt == 1);
  CHECK(f.counts().in_flight == 1);  // and marked in flight in the store like any send
  REQUIRE(f.ack(second[0].delivery_id, kT0 + 2));
  CHECK(f.ids(f.turn(kT0 + 2)) == std::vector<std::string>{"m-2"});
  CHECK(f.counts().pending == 0);
}

TEST_CASE("more pending deliveries than are kept: the oldest come from the store, all in order", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  CHECK(f.turn(kT0).empty());
  const int n = static_cast<int>(DeliveryScheduler::kWaitingKept) + 10;
  CHECK(f.submit(n, true) == 1);
  CHECK(f.counts().pending == n - 1);
  f.options.max_credit = static_cast<std::uint32_t>(n);  // the scheduler reads its options by reference
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", static_cast<std::uint32_t>(n), kT0));
  auto sent = f.turn(kT0);  // m-0 (sent at acceptance), m-1..m-10 from the store, the rest kept
  REQUIRE(sent.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(sent[static_cast<std::size_t>(i)].header.message_id == "m-" + std::to_string(i));
  CHECK(f.counts().pending == 0);
}

TEST_CASE("the store is read only below the deliveries kept in memory", "[core][delivery]") {
  Fixture f;
  f.submit(3);  // m-0..m-2 pending while nobody is connected: only in the store
  CHECK(f.submit(2, true) == 0);  // m-3, m-4 pending behind them, also kept in memory
  replace_stored_payload(f.store, "m-3", R"({"changed":true})");
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 10, kT0));
  auto sent = f.turn(kT0);
  REQUIRE(f.ids(sent) == std::vector<std::string>{"m-0", "m-1", "m-2", "m-3", "m-4"});
  CHECK(sent[3].payload.find("changed") == std::string::npos);  // m-3 from memory, not read back
  CHECK(f.counts().pending == 0);
  CHECK(f.counts().in_flight == 5);
}

TEST_CASE("what is kept in memory is bounded in bytes too: large payloads come from the store", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  CHECK(f.turn(kT0).empty());
  std::string items;
  for (int i = 0; i < 2000; ++i) items += std::string(i ? "," : "") + R"({"id":"AB1234","count":1})";
  const std::string big = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[)" + items + "]}";
  REQUIRE(big.size() > 50'000);
  const int n = 100;  // 5 MB of payloads: more than kWaitingBytes, far fewer than kWaitingKept
  REQUIRE(static_cast<std::size_t>(n) * big.size() > DeliveryScheduler::kWaitingBytes);
  REQUIRE(f.store.begin());
  broker::core::PipelineDeps deps{f.store, f.registry, f.partners};
  deps.scheduler = &f.scheduler;
  for (int i = 0; i < n; ++i) {
    auto s = test_support::notice_submit("m-" + std::to_string(i), big);
    s.header.recipients = {"BRAVO"};
    auto out = broker::core::process_submit(deps, "ALPHA", s, kT0);
    REQUIRE(out);
    REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
    for (auto& r : out->reserved) REQUIRE(f.scheduler.send_reserved(std::move(r.delivery), r.routing_id, kT0));
    for (auto& d : out->pending) f.scheduler.add_pending(std::move(d));
  }
  REQUIRE(f.store.commit());
  // Mark the oldest and the newest pending message in the store: a send read from the store shows it.
  for (const char* id : {"m-1", "m-99"}) replace_stored_payload(f.store, id, R"({"changed":true})");
  f.options.max_credit = static_cast<std::uint32_t>(n);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", static_cast<std::uint32_t>(n), kT0));
  auto sent = f.turn(kT0);
  REQUIRE(sent.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(sent[static_cast<std::size_t>(i)].header.message_id == "m-" + std::to_string(i));
  CHECK(sent[1].payload == R"({"changed":true})");  // dropped from memory: read from the store
  CHECK(sent[99].payload == big);                   // kept: sent from memory
}

TEST_CASE("prepared payloads are kept by count and by size", "[core][delivery][policy]") {
  Fixture f;
  auto prepared = [](std::size_t bytes) {
    auto p = std::make_shared<broker::policy::PreparedPayload>();
    p->medical = {"/fit_to_travel"};
    p->without_medical = std::string(bytes, 'x');
    return std::shared_ptr<const broker::policy::PreparedPayload>(std::move(p));
  };
  for (int i = 0; i < 5000; ++i) f.scheduler.remember_prepared("test.health", 1, "small-" + std::to_string(i), prepared(10));
  CHECK(f.scheduler.prepared_count() == DeliveryScheduler::kPreparedKept);
  // 1 MiB each: about 16 fit, whatever the count.
  for (int i = 0; i < 40; ++i) f.scheduler.remember_prepared("test.health", 1, "big-" + std::to_string(i), prepared(1 << 20));
  CHECK(f.scheduler.prepared_count() <= DeliveryScheduler::kPreparedBytes / (1 << 20));
  CHECK(f.scheduler.prepared_count() >= DeliveryScheduler::kPreparedBytes / (1 << 20) - 1);
  // The same key again replaces, it does not add.
  const auto before = f.scheduler.prepared_count();
  f.scheduler.remember_prepared("test.health", 1, "big-39", prepared(10));
  CHECK(f.scheduler.prepared_count() == before);
}

TEST_CASE("an ack for a kept pending delivery never sent stops it being sent", "[core][delivery]") {
  Fixture f;
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 1, kT0));
  CHECK(f.turn(kT0).empty());
  CHECK(f.submit(3, true) == 1);  // m-0 at once; m-1, m-2 pending and kept
  auto first = f.turn(kT0);
  REQUIRE(f.ids(first) == std::vector<std::string>{"m-0"});
  // BRAVO acks m-1's delivery, which it was never sent (its id is m-0's plus one).
  CHECK(f.ack(first[0].delivery_id + 1, kT0 + 1));
  CHECK(f.counts().acked == 1);
  REQUIRE(f.ack(first[0].delivery_id, kT0 + 2));
  CHECK(f.ids(f.turn(kT0 + 2)) == std::vector<std::string>{"m-2"});  // m-1 is not sent after all
  CHECK(f.counts().acked == 2);
  CHECK(f.counts().in_flight == 1);
}

namespace {

// The delivery as stored: state, attempts, last_attempt_at.
broker::store::Delivery stored(Fixture& f, std::uint64_t delivery_id) {
  auto d = f.store.find_delivery(static_cast<std::int64_t>(delivery_id));
  REQUIRE(d);
  REQUIRE(d->has_value());
  return **d;
}

}  // namespace

TEST_CASE("a delivery the socket refused is not an attempt: pending again and its connection retired",
          "[core][delivery][fault]") {
  Fixture f;
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0));
  auto sent = f.turn(kT0);
  REQUIRE(sent.size() == 1);
  CHECK(stored(f, sent[0].delivery_id).attempts == 1);
  REQUIRE(f.store.begin());
  REQUIRE(f.scheduler.not_delivered("conn-1", {sent[0].delivery_id}, "connection gone", kT0 + 1));
  REQUIRE(f.store.commit());
  CHECK(f.scheduler.session_count() == 0);
  CHECK(f.scheduler.in_flight_count() == 0);
  const auto d = stored(f, sent[0].delivery_id);
  CHECK(d.state == broker::store::DeliveryState::kPending);
  CHECK(d.attempts == 0);          // as if never sent
  CHECK(d.last_attempt_at == 0);
  auto log = f.store.read_log(0, 100);
  REQUIRE(log);
  CHECK(log->back().event == "undelivered");
  CHECK(log->back().delivery_id == static_cast<std::int64_t>(sent[0].delivery_id));
  CHECK_THAT(log->back().detail, Catch::Contains("connection gone"));
  // Another connection of the partner gets it as a first attempt.
  REQUIRE(f.scheduler.on_credit("conn-2", "BRAVO", 8, kT0 + 2));
  auto again = f.turn(kT0 + 2);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 1);
}

TEST_CASE("a delivery bouncing through many vanished connections of its partner is never dead-lettered",
          "[core][delivery][fault]") {
  Fixture f;  // max_attempts 3
  f.submit(2);
  for (int c = 0; c < 20; ++c) REQUIRE(f.scheduler.on_credit("dead-" + std::to_string(c), "BRAVO", 4, kT0));
  Millis now = kT0;
  for (int round = 0; round < 20; ++round) {
    // One loop turn: both go to one connection, whose socket refuses them (its peer is gone); the
    // next turn takes them back.
    REQUIRE(f.store.begin());
    auto out = f.scheduler.pump(now);
    REQUIRE(out);
    REQUIRE(f.store.commit());
    REQUIRE(out->size() == 2);
    REQUIRE((*out)[0].routing_id == (*out)[1].routing_id);
    REQUIRE(f.store.begin());
    REQUIRE(f.scheduler.not_delivered((*out)[0].routing_id, {(*out)[0].delivery_id, (*out)[1].delivery_id},
                                      "connection gone", now + 1));
    REQUIRE(f.store.commit());
    CHECK(f.scheduler.session_count() == static_cast<std::size_t>(19 - round));
    now += 10;
  }
  CHECK(f.counts().dead == 0);
  CHECK(f.counts().pending == 2);
  // The healthy client that comes next receives both, as first attempts.
  REQUIRE(f.scheduler.on_credit("healthy", "BRAVO", 8, now));
  auto got = f.turn(now);
  REQUIRE(f.ids(got) == std::vector<std::string>{"m-0", "m-1"});
  CHECK(got[0].attempt == 1);
  CHECK(got[1].attempt == 1);
}

TEST_CASE("a connection that never acked or nacked anything cannot dead-letter a delivery", "[core][delivery][fault]") {
  Fixture f;  // max_attempts 3, ack_timeout 1 s
  f.submit(1);
  Millis now = kT0;
  std::vector<std::uint32_t> attempts;
  for (int round = 0; round < 8; ++round) {
    // A fresh connection takes credit and never reads: the ack timeout returns the delivery, or
    // (every other round) the connection ends.
    const std::string conn = "silent-" + std::to_string(round);
    REQUIRE(f.scheduler.on_credit(conn, "BRAVO", 8, now));
    auto sent = f.turn(now);
    REQUIRE(sent.size() == 1);
    attempts.push_back(sent[0].attempt);
    if (round % 2 == 0) {
      now += 1500;
      f.scheduler.touch(conn, now);
      REQUIRE(f.store.begin());
      REQUIRE(f.scheduler.expire(now));
      REQUIRE(f.store.commit());
      REQUIRE(f.store.begin());
      REQUIRE(f.scheduler.drop_session(conn, now));
      REQUIRE(f.store.commit());
    } else {
      REQUIRE(f.store.begin());
      REQUIRE(f.scheduler.drop_session(conn, now));
      REQUIRE(f.store.commit());
    }
    CHECK(f.counts().pending == 1);
  }
  CHECK(f.counts().dead == 0);
  // Each send is numbered, but none of those connections showed it reads: no attempt counted.
  CHECK(attempts == std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(stored(f, 1).attempts == 0);
  // A client that reads gets it; if it then lets it time out too, that counts: dead-lettered.
  f.submit(1);
  REQUIRE(f.scheduler.on_credit("reader", "BRAVO", 1, now));
  auto got = f.turn(now);
  REQUIRE(f.ids(got) == std::vector<std::string>{"m-0"});
  CHECK(got[0].attempt == 9);
  REQUIRE(f.ack(got[0].delivery_id, now, "BRAVO", "reader"));
  auto next = f.turn(now);
  REQUIRE(f.ids(next) == std::vector<std::string>{"m-1"});
  for (int i = 0; i < 3; ++i) {
    now += 1500;
    f.scheduler.touch("reader", now);
    f.turn(now);
  }
  CHECK(f.counts().dead == 1);
}

TEST_CASE("connections that have answered are served before a partner's others", "[core][delivery][fault]") {
  Fixture f;
  f.submit(1);
  // "a-stale" sorts first; "b-reader" acks its first delivery.
  REQUIRE(f.scheduler.on_credit("b-reader", "BRAVO", 8, kT0));
  auto first = f.turn(kT0);
  REQUIRE(first.size() == 1);
  REQUIRE(f.ack(first[0].delivery_id, kT0, "BRAVO", "b-reader"));
  REQUIRE(f.scheduler.on_credit("a-stale", "BRAVO", 8, kT0));
  f.submit(2);
  REQUIRE(f.store.begin());
  auto out = f.scheduler.pump(kT0 + 1);
  REQUIRE(f.store.commit());
  REQUIRE(out);
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].routing_id == "b-reader");
  CHECK((*out)[1].routing_id == "b-reader");
}

// Deliver batching: only a connection whose Credit said `batches` gets DeliverBatch frames; each
// frame stays within max_message_bytes, the deliveries keep their order, and every one is in flight.
TEST_CASE("scheduler batches deliveries only for a connection that asked, within max_message_bytes",
          "[core][delivery][batch]") {
  Fixture f;
  f.options.max_message_bytes = 4 * 1024;  // room for a few deliveries of about 600 bytes per frame
  f.submit(20);
  const bool batches = GENERATE(false, true);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 100, kT0, batches));
  REQUIRE(f.store.begin());
  auto out = f.scheduler.pump(kT0);
  REQUIRE(out);
  REQUIRE(f.store.commit());
  std::vector<std::string> ids;
  std::size_t batch_frames = 0;
  for (const auto& o : *out) {
    CHECK(o.routing_id == "conn-1");
    CHECK(o.bytes.size() <= f.options.max_message_bytes);
    auto e = contracts::decode_envelope(std::span(reinterpret_cast<const std::byte*>(o.bytes.data()), o.bytes.size()),
                                        f.options.max_message_bytes);
    REQUIRE(e);
    if (auto* d = std::get_if<contracts::Deliver>(&*e)) {
      CHECK(o.delivery_id == d->delivery_id);
      CHECK(o.batched_ids.empty());
      ids.push_back(d->header.message_id);
    } else {
      REQUIRE(batches);
      const auto& b = std::get<contracts::DeliverBatch>(*e);
      ++batch_frames;
      REQUIRE(b.deliveries.size() > 1);
      REQUIRE(o.batched_ids.size() == b.deliveries.size());
      for (std::size_t i = 0; i < b.deliveries.size(); ++i) {
        CHECK(o.batched_ids[i] == b.deliveries[i].delivery_id);
        ids.push_back(b.deliveries[i].header.message_id);
      }
    }
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back("m-" + std::to_string(i));
  CHECK(ids == expected);
  CHECK(f.counts().in_flight == 20);
  if (batches) {
    CHECK(batch_frames >= 2);  // 20 deliveries do not fit one 4 KiB frame
    CHECK(out->size() < 20);
  } else {
    CHECK(out->size() == 20);
  }
}
