// The stored payload checked against the digest the log recorded at acceptance
// (broker/audit/payload_check.h), and the fields of it that may be shown: tests named after what
// would go wrong.
#include "broker/audit/payload_check.h"

#include <catch2/catch.hpp>

#include <cstring>

#include "contracts/digest.h"

namespace {

using broker::audit::check_stored_payload;
using broker::audit::PayloadCheck;
using broker::audit::StoredPayload;
using contracts::EvidenceField;
using Catch::Matchers::Contains;

const std::string kPayload =
    R"({"arrived_at":"2025-03-12T03:25:00Z","belongings":{"count":2,"seals":["S1","S2"]},"medication_handed_over":true,"status":"sent"})";

broker::events::Event accepted(const std::string& logged_payload, std::vector<broker::events::Evidence> evidence = {}) {
  broker::events::Event e;
  e.message_id = "5e1c09aa-0000-4000-8000-000000000001";
  e.contract = "care.handover.status";
  e.version = 1;
  broker::events::Digest d{};
  const auto sha = contracts::sha256(logged_payload.data(), logged_payload.size());
  std::memcpy(d.data(), sha.data(), d.size());
  e.payload_digest = d;
  broker::events::Accepted a;
  a.evidence = std::move(evidence);
  e.record = a;
  return e;
}

StoredPayload readable(std::string bytes) { return {StoredPayload::State::kReadable, std::move(bytes), ""}; }

const std::vector<EvidenceField> kFields{{"/arrived_at", false}, {"/belongings/seals", false},
                                         {"/medication_handed_over", true}, {"/status", false}};

}  // namespace

TEST_CASE("a stored payload that matches the log gives the fields its JSON pointers pick", "[audit][evidence]") {
  const auto c = check_stored_payload(accepted(kPayload), readable(kPayload), kFields);
  CHECK(c.state == PayloadCheck::State::kMatches);
  CHECK(c.stored_digest == c.logged_digest);
  REQUIRE(c.values.size() == 3);
  CHECK(c.values[0].pointer == "/arrived_at");
  CHECK(c.values[0].json == R"("2025-03-12T03:25:00Z")");
  CHECK(c.values[1].pointer == "/belongings/seals");  // a nested field, by its pointer
  CHECK(c.values[1].json == R"(["S1","S2"])");
  CHECK(c.values[2].json == R"("sent")");
  CHECK_THAT(describe(c, "care.handover.status v1 (id 5e1c09aa)"),
             Contains("matches the log") && Contains(R"(/status = "sent")"));
}

TEST_CASE("a payload changed in the store after acceptance is a finding and none of its values is shown",
          "[audit][evidence]") {
  std::string altered = kPayload;
  altered.replace(altered.find("sent"), 4, "recv");
  const auto c = check_stored_payload(accepted(kPayload), readable(altered), kFields);
  CHECK(c.state == PayloadCheck::State::kAltered);
  CHECK(c.stored_digest == contracts::sha256_hex(altered));
  CHECK(c.logged_digest == contracts::sha256_hex(kPayload));
  CHECK(c.values.empty());
  CHECK(c.withheld.empty());
  const auto text = describe(c, "care.handover.status v1 (id 5e1c09aa)");
  CHECK_THAT(text, Contains("FINDING") && Contains("does not match the digest the log recorded"));
  CHECK_THAT(text, !Contains("recv"));
}

TEST_CASE("one changed byte, even white space, is a finding", "[audit][evidence]") {
  const auto c = check_stored_payload(accepted(kPayload), readable(kPayload + " "), kFields);
  CHECK(c.state == PayloadCheck::State::kAltered);
}

TEST_CASE("a medical evidence field's value is never read from the payload into replay", "[audit][evidence]") {
  const auto c = check_stored_payload(accepted(kPayload), readable(kPayload), kFields);
  REQUIRE(c.state == PayloadCheck::State::kMatches);
  for (const auto& v : c.values) CHECK(v.pointer != "/medication_handed_over");
  CHECK(c.withheld == std::vector<std::string>{"/medication_handed_over"});
  CHECK_THAT(describe(c, "x"), Contains("medical, not shown: /medication_handed_over") && !Contains("true"));
}

TEST_CASE("a field the accepted event already records is not shown twice", "[audit][evidence]") {
  const auto c = check_stored_payload(accepted(kPayload, {{"/status", R"("sent")", false}}), readable(kPayload), kFields);
  REQUIRE(c.state == PayloadCheck::State::kMatches);
  for (const auto& v : c.values) CHECK(v.pointer != "/status");
  CHECK(c.values.size() == 2);
}

TEST_CASE("a sealed payload without the key is said to be sealed, not checked and not shown", "[audit][evidence]") {
  const auto c = check_stored_payload(accepted(kPayload), {StoredPayload::State::kSealed, "", "no payload key"}, kFields);
  CHECK(c.state == PayloadCheck::State::kSealed);
  CHECK(c.values.empty());
  CHECK_THAT(describe(c, "x"), Contains("sealed") && Contains("--payload-key"));
}

TEST_CASE("a payload gone through retention is said to be gone", "[audit][evidence]") {
  const auto c = check_stored_payload(accepted(kPayload), {StoredPayload::State::kGone, "", ""}, kFields);
  CHECK(c.state == PayloadCheck::State::kGone);
  CHECK_THAT(describe(c, "x"), Contains("no longer in the store") && Contains("retention"));
}

TEST_CASE("an accepted event without a digest is never taken to match", "[audit][evidence]") {
  auto e = accepted(kPayload);
  e.payload_digest.reset();
  const auto c = check_stored_payload(e, readable(kPayload), kFields);
  CHECK(c.state == PayloadCheck::State::kNoDigest);
  CHECK(c.values.empty());
}

TEST_CASE("evidence fields are read from a whole contract text as the store's history keeps it", "[audit][evidence]") {
  auto fields = broker::audit::contract_evidence_fields(
      R"({"name":"x","schema":{"type":"object","properties":{"a":{"type":"string","x-evidence":true}}}})");
  REQUIRE(fields);
  CHECK(*fields == std::vector<EvidenceField>{{"/a", false}});
  CHECK_FALSE(broker::audit::contract_evidence_fields("not json"));
  CHECK_FALSE(broker::audit::contract_evidence_fields(R"({"name":"x"})"));  // no schema: not taken as "none"
}
