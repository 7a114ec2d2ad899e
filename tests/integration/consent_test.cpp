// Consent through a real broker with a contract set that has no consent files of its own: the
// built-in consent contracts take registrations for any configured partner id, and a consent opens
// a contract's medical fields only for the purpose that contract declares for the recipient.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "contracts/time.h"
#include "tests/support/broker_harness.h"
#include "tests/support/receive.h"
#include "tests/support/temp_dir.h"

namespace {

using contracts::ReceiptStatus;
using test_support::receive_one;

constexpr const char* kTransport = "safe-transport-and-removal";
constexpr const char* kCare = "continuity-of-care";

// A contract set without consent.* files: ALPHA sends test.care to AIR-KLM (declared purpose: safe
// transport) and DVO (declared purpose: continuity of care).
std::filesystem::path write_set(const test_support::TempDir& dir) {
  const auto set = dir / "contracts";
  std::filesystem::create_directories(set);
  std::ofstream(set / "test.care.v1.json", std::ios::binary) << R"({
  "contract": "test.care", "version": 1, "description": "consent purposes through a broker",
  "owner": "ALPHA", "consumers": ["AIR-KLM", "DVO"],
  "purposes": {"AIR-KLM": "safe-transport-and-removal", "DVO": "continuity-of-care"},
  "schema": {"type": "object", "required": ["escort"], "properties": {
    "escort": {"type": "string"},
    "fit_to_travel": {"type": "string", "x-sensitivity": "medical"}}}})";
  return set;
}

// ALPHA, the care provider `gza` (lower case, as the config allows) and two recipients, one with a
// hyphen.
struct ConsentChain {
  test_support::TempDir contracts_dir;
  test_support::BrokerHarness h{{"ALPHA", "gza", "AIR-KLM", "DVO"}, write_set(contracts_dir)};
  ConsentChain() {
    for (auto& p : h.options().partners) {
      if (p.id == "gza") p.role = broker::core::PartnerRole::kCareProvider;
    }
    h.start();
  }
};

contracts::Submit message(const char* contract, const std::string& payload, std::vector<std::string> to = {}) {
  contracts::Submit s = test_support::notice(partner::new_message_id(), "9990012345");
  s.header.contract = contract;
  s.header.recipients = std::move(to);
  s.payload = payload;
  return s;
}

std::string registration(const std::string& recipient, const char* purpose) {
  return R"({"recipient":")" + recipient + R"(","purpose":")" + purpose + R"(","valid_until":")" +
         contracts::format_rfc3339(contracts::now_millis() + 3'600'000) + R"("})";
}

const char* kCarePayload = R"({"escort":"NURSE","fit_to_travel":"yes-with-conditions"})";

contracts::Receipt send(partner::Client& c, const contracts::Submit& s) {
  auto r = c.send(s);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE("a contract set without consent files takes consents through the built-in contracts, for any partner id",
          "[integration][policy][consent]") {
  ConsentChain chain;
  auto gza = chain.h.client("gza");
  auto alpha = chain.h.client("ALPHA");
  auto klm = chain.h.client("AIR-KLM");

  auto registered = send(gza, message("consent.registered", registration("AIR-KLM", kTransport)));
  INFO(registered.detail);
  REQUIRE(registered.status == ReceiptStatus::kAccepted);
  REQUIRE(send(alpha, message("test.care", kCarePayload, {"AIR-KLM"})).status == ReceiptStatus::kAccepted);
  auto d = receive_one(klm);
  CHECK(d.removed_fields.empty());
  CHECK(d.payload.find("fit_to_travel") != std::string::npos);
  REQUIRE(klm.ack(d.delivery_id));

  // A recipient that is no configured partner is refused at /recipient.
  auto unknown = send(gza, message("consent.registered", registration("NOBODY", kTransport)));
  CHECK(unknown.status == ReceiptStatus::kRejected);
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].pointer == "/recipient");
  // Still only care providers may send it.
  auto by_alpha = send(alpha, message("consent.registered", registration("DVO", kCare)));
  CHECK(by_alpha.status == ReceiptStatus::kRejected);
  CHECK(by_alpha.code == contracts::ErrorCode::kNotOwner);
}

TEST_CASE("a consent for one purpose does not open the medical fields of a contract declaring another",
          "[integration][policy][consent]") {
  ConsentChain chain;
  auto gza = chain.h.client("gza");
  auto alpha = chain.h.client("ALPHA");
  auto dvo = chain.h.client("DVO");

  // test.care declares continuity-of-care for DVO; a consent for safe transport does not cover it.
  REQUIRE(send(gza, message("consent.registered", registration("DVO", kTransport))).status == ReceiptStatus::kAccepted);
  REQUIRE(send(alpha, message("test.care", kCarePayload, {"DVO"})).status == ReceiptStatus::kAccepted);
  auto without = receive_one(dvo);
  CHECK(without.removed_fields == std::vector<std::string>{"/fit_to_travel"});
  CHECK(without.payload.find("fit_to_travel") == std::string::npos);
  REQUIRE(dvo.ack(without.delivery_id));

  // A consent for the declared purpose does.
  REQUIRE(send(gza, message("consent.registered", registration("DVO", kCare))).status == ReceiptStatus::kAccepted);
  REQUIRE(send(alpha, message("test.care", kCarePayload, {"DVO"})).status == ReceiptStatus::kAccepted);
  auto with = receive_one(dvo);
  CHECK(with.removed_fields.empty());
  CHECK(with.payload.find("fit_to_travel") != std::string::npos);
  REQUIRE(dvo.ack(with.delivery_id));
}
