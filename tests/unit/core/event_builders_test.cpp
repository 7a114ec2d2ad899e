// The typed events the broker core builds: each builder's fields, asserted on the types (the
// bytes and renderings are broker/events' tests), and the one door to the store.
#include <catch2/catch.hpp>

#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/events/render.h"
#include "contracts/digest.h"
#include "contracts/norms.h"
#include "tests/support/core_fixture.h"

namespace ev = broker::events;

namespace {

contracts::Header header() {
  contracts::Header h;
  h.message_id = "m-1";
  h.contract = "departure.scheduled";
  h.version = 2;
  h.case_ref = "9990012345";
  return h;
}

const std::string kDigestHex = contracts::sha256_hex("payload");

}  // namespace

TEST_CASE("a message event carries the message's columns and its digest as bytes", "[core][events]") {
  const auto e = broker::core::message_event(ev::Received{120}, header(), "DTV", kDigestHex, 1'700'000'000'000);
  CHECK(e.kind() == ev::Kind::kReceived);
  CHECK(e.at == 1'700'000'000'000);
  CHECK(e.message_id == "m-1");
  CHECK(e.contract == "departure.scheduled");
  CHECK(e.version == 2);
  CHECK(e.case_ref == "9990012345");
  CHECK(e.sender == "DTV");
  CHECK(e.recipient.empty());
  REQUIRE(e.payload_digest.has_value());
  CHECK(ev::hex(*e.payload_digest) == kDigestHex);
  CHECK(std::get<ev::Received>(e.record).bytes == 120);
  CHECK_FALSE(broker::core::message_event(ev::Routed{}, header(), "DTV", "", 0).payload_digest.has_value());

  const auto d = broker::core::delivery_event(ev::Delivered{3}, header(), "DTV", kDigestHex, "KMAR", 42, 5);
  CHECK(d.recipient == "KMAR");
  CHECK(d.delivery_id == 42);
  CHECK(std::get<ev::Delivered>(d.record).attempt == 3);
}

TEST_CASE("the accepted record holds the header's optional columns, the skipped consumers and the assurance", "[core][events]") {
  auto h = header();
  h.correlation_id = "corr-1";
  h.causation_id = "m-0";
  h.supersedes = "m-old";
  h.occurred_at = 10;
  h.recorded_at = 20;
  h.origin = "email:clerk@gem.example";
  const auto a = broker::core::accepted_record(h, {"KMAR", "DVO"}, {{"COA", "takes versions 1"}},
                                               ev::Assurance::kMailAdapter);
  CHECK(a.recipients == std::vector<std::string>{"KMAR", "DVO"});
  CHECK(a.correlation_id == "corr-1");
  CHECK(a.causation_id == "m-0");
  CHECK(a.supersedes == "m-old");
  CHECK(a.occurred_at == 10);
  CHECK(a.recorded_at == 20);
  CHECK(a.origin == "email:clerk@gem.example");
  CHECK(a.skipped == std::vector<ev::Skipped>{{"COA", "takes versions 1"}});
  CHECK(a.assurance == ev::Assurance::kMailAdapter);
  CHECK(a.evidence.empty());
}

TEST_CASE("rejected and duplicate records", "[core][events]") {
  const auto r = broker::core::rejected_record(contracts::ErrorCode::kSchemaViolation, "payload does not match",
                                               {{"/std", "format", "not a date-time"}});
  CHECK(r.code == contracts::ErrorCode::kSchemaViolation);
  CHECK(r.detail == "payload does not match");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].pointer == "/std");

  const auto d = broker::core::duplicate_record(kDigestHex, false);
  CHECK(ev::hex(d.first_payload_digest) == kDigestHex);
  CHECK_FALSE(d.same_payload);
}

TEST_CASE("a policy decision is redacted when fields went, policy_allowed when medical fields were kept", "[core][events]") {
  const auto redacted = broker::core::policy_record({{"/fit_to_travel", "medical:no-consent"}}, "");
  REQUIRE(std::holds_alternative<ev::Redacted>(redacted));
  CHECK(std::get<ev::Redacted>(redacted).removed == std::vector<ev::Removal>{{"/fit_to_travel", "medical:no-consent"}});
  const auto allowed = broker::core::policy_record({}, "consent:m-c-1");
  REQUIRE(std::holds_alternative<ev::PolicyAllowed>(allowed));
  CHECK(std::get<ev::PolicyAllowed>(allowed).basis == "consent:m-c-1");
  CHECK(std::get<ev::PolicyAllowed>(allowed).removed.empty());
}

TEST_CASE("a norm violation records who was late, the obligation and the corrected message", "[core][events]") {
  contracts::NormViolation v;
  v.norm_id = "departure-notice";
  v.kind = contracts::NormKind::kDeliveredBefore;
  v.recipient = "KMAR";
  v.late_party = "KMAR";
  v.due_at = 100;
  v.late_by = 50;
  v.explanation = "late";
  const auto open = broker::core::norm_record(v, true, "k-1", "m-first");
  CHECK(open.is_open());
  CHECK_FALSE(open.was_open);  // only a closed row says it was open before
  CHECK(open.norm == "departure-notice");
  CHECK(open.by_ms == 50);
  CHECK(open.late_party == "KMAR");
  CHECK(open.key == "k-1");
  CHECK(open.corrects == "m-first");
  v.done_at = 200;
  const auto closed = broker::core::norm_record(v, true, "k-1", "");
  CHECK_FALSE(closed.is_open());
  CHECK(closed.was_open);
  CHECK(closed.done_at == 200);
}

TEST_CASE("the started record compares with the previous start and records the clock", "[core][events]") {
  broker::core::ClockStatus clock{"tsc", "unsynchronized", "adjtimex", -1};
  const auto first = broker::core::started_record("c1", "d1", "key", 7, 31, std::nullopt, clock);
  CHECK(first.config_changed);
  CHECK(first.contracts_changed);
  CHECK_FALSE(first.previous_config_digest.has_value());
  CHECK(first.partners == 7);
  CHECK(first.contracts == 31);
  CHECK(first.clock_sync == ev::ClockSync::kUnsynchronized);
  CHECK_FALSE(first.clock_synced);
  CHECK(first.clock_basis == "adjtimex");
  CHECK(first.clock_error_us == -1);

  const auto again = broker::core::started_record("c2", "d1", "", 8, 31, first, clock);
  CHECK(again.config_changed);
  CHECK_FALSE(again.contracts_changed);
  CHECK(again.previous_config_digest == "c1");
  CHECK(again.previous_contracts_digest == "d1");

  // An unreadable contract folder ("") at a first start is no change, as it always was.
  CHECK_FALSE(broker::core::started_record("c", "", "", 0, 0, std::nullopt, clock).contracts_changed);
}

TEST_CASE("record_event writes the row the event stands for, and event_of reads it back", "[core][events]") {
  test_support::TempDir dir;
  auto store = test_support::open_store(dir);
  auto h = header();
  h.origin = "file:KLM/a.json";
  const auto accepted = broker::core::message_event(
      broker::core::accepted_record(h, {"KMAR"}, {}, ev::Assurance::kFileAdapter), h, "KLM", kDigestHex, 7);
  REQUIRE(store.begin());
  auto seq = broker::core::record_event(store, accepted);
  REQUIRE(seq);
  REQUIRE(store.commit());
  auto rows = store.read_log(*seq, 1);
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  const auto& row = rows->front();
  CHECK(row.event == "accepted");
  CHECK(row.payload_digest == kDigestHex);
  CHECK(row.detail == R"({"assurance":"file-adapter","origin":"file:KLM/a.json","recipients":["KMAR"]})");
  auto back = broker::core::event_of(row);
  REQUIRE(back);
  CHECK(*back == accepted);
}

// --- evidence fields: the accepted event carries their values, medical ones sealed ---

#include "broker/core/evidence.h"
#include "broker/core/pipeline.h"

namespace {

struct EvidenceFixture {
  test_support::TempDir dir;
  broker::store::SqliteStore store = test_support::open_store(dir);
  contracts::ContractRegistry registry = test_support::load_test_contracts();
  std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE", "DELTA"};
  const std::string key = std::string(32, 'k');  // the store's payload key (core_fixture.h)

  // The accepted event of `s`, as the store holds it.
  ev::Event accept(const contracts::Submit& s) {
    broker::core::PipelineDeps deps{store, registry, partners};
    deps.payload_key = key;
    REQUIRE(store.begin());
    auto out = broker::core::process_submit(deps, "ALPHA", s, 1'700'000'000'000);
    REQUIRE(out);
    REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
    REQUIRE(store.commit());
    auto logged = store.accepted_event(s.header.message_id);
    REQUIRE(logged);
    REQUIRE(logged->has_value());
    return (*logged)->event;
  }

  std::vector<broker::store::LogEvent> log() {
    auto rows = store.read_log(0, 1000);
    REQUIRE(rows);
    return *rows;
  }
};

contracts::Submit health(const std::string& id, const std::string& payload) {
  contracts::Submit s;
  s.header.message_id = id;
  s.header.contract = "test.health";
  s.header.version = 1;
  s.header.case_ref = "9990012345";
  s.payload = payload;
  return s;
}

}  // namespace

TEST_CASE("an accepted event carries the evidence fields' values, a medical one sealed", "[core][evidence]") {
  EvidenceFixture f;
  const auto e = f.accept(health("h-1", R"({"fit_to_travel":"yes-with-conditions","transport_requirements":["WHEELCHAIR"],
                                           "escort":"NURSE","medication":{"days":14,"carry":true}})"));
  const auto& a = std::get<ev::Accepted>(e.record);
  REQUIRE(a.evidence.size() == 2);
  CHECK(a.evidence[0].pointer == "/escort");
  CHECK(a.evidence[0].value == "\"NURSE\"");
  CHECK_FALSE(a.evidence[0].sealed);
  CHECK(a.evidence[1].pointer == "/fit_to_travel");
  CHECK(a.evidence[1].sealed);
  CHECK(a.evidence[1].value.find("yes-with-conditions") == std::string::npos);

  // Whoever holds the payload key reads it; the renderings show it only then.
  const auto unseal = broker::core::evidence_unsealer(f.key);
  CHECK(unseal(e, a.evidence[1]) == "\"yes-with-conditions\"");
  CHECK_THAT(ev::describe(e), Catch::EndsWith("evidence /escort = \"NURSE\", /fit_to_travel (sealed)"));
  CHECK_THAT(ev::describe(e, unseal), Catch::EndsWith("/fit_to_travel = \"yes-with-conditions\" (sealed, opened)"));
  // Another key, or the sealed value moved to another message or field, does not open.
  CHECK_FALSE(broker::core::evidence_unsealer(std::string(32, 'x'))(e, a.evidence[1]).has_value());
  ev::Event moved = e;
  moved.message_id = "h-2";
  CHECK_FALSE(unseal(moved, a.evidence[1]).has_value());
  ev::Evidence renamed = a.evidence[1];
  renamed.pointer = "/escort";
  CHECK_FALSE(unseal(e, renamed).has_value());
}

TEST_CASE("the handover log holds no medical evidence value in clear", "[core][evidence]") {
  EvidenceFixture f;
  f.accept(health("h-1", R"({"fit_to_travel":"yes-with-conditions","transport_requirements":["LYING"],"escort":"NONE"})"));
  bool saw_evidence = false;
  for (const auto& row : f.log()) {
    INFO(row.event << " " << row.detail);
    CHECK(row.detail.find("yes-with-conditions") == std::string::npos);
    saw_evidence = saw_evidence || row.detail.find("\"evidence\"") != std::string::npos;
  }
  CHECK(saw_evidence);
}

TEST_CASE("a payload without the evidence fields records none", "[core][evidence]") {
  EvidenceFixture f;
  const auto e = f.accept(health("h-1", R"({"fit_to_travel":"no","transport_requirements":[]})"));
  const auto& a = std::get<ev::Accepted>(e.record);
  REQUIRE(a.evidence.size() == 1);  // escort is not there
  CHECK(a.evidence[0].pointer == "/fit_to_travel");
  const auto bare = f.accept(health("h-2", R"({"transport_requirements":["WHEELCHAIR"],"fit_to_travel":"yes"})"));
  CHECK(std::get<ev::Accepted>(bare.record).evidence.size() == 1);
}

TEST_CASE("a contract without x-evidence gives the accepted event it always had", "[core][evidence]") {
  EvidenceFixture f;
  const auto e = f.accept(test_support::notice_submit("n-1"));
  CHECK(std::get<ev::Accepted>(e.record).evidence.empty());
  for (const auto& row : f.log()) CHECK(row.detail.find("evidence") == std::string::npos);
}

TEST_CASE("without a payload key a medical evidence value is left out, never written in clear", "[core][evidence]") {
  const std::vector<contracts::EvidenceField> fields{{"/escort", false}, {"/fit", true}};
  auto values = broker::core::evidence_of(fields, R"({"escort":"NONE","fit":"no"})", "m-1", "");
  REQUIRE(values);
  REQUIRE(values->size() == 1);
  CHECK(values->front().pointer == "/escort");
}
