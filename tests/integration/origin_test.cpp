// Who may say how a message reached the chain: only a party served by an adapter (role non-chain)
// may set `origin`, and every accepted event records the sender's assurance level.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "broker/store/sqlite_store.h"
#include "tests/support/broker_harness.h"

namespace {

using contracts::ReceiptStatus;
using test_support::BrokerHarness;

// The `assurance` of the accepted event for `message_id`; "" when there is no such event.
std::string assurance_of(BrokerHarness& h, const std::string& message_id) {
  auto store = broker::store::SqliteStore::open({h.options().store, false, std::chrono::milliseconds(5'000), true});
  REQUIRE(store);
  auto rows = store->read_log(0, 100'000);
  REQUIRE(rows);
  for (const auto& r : *rows) {
    if (r.event != "accepted" || r.message_id != message_id) continue;
    const auto detail = nlohmann::json::parse(r.detail);
    return detail.value("assurance", std::string("(none)"));
  }
  return "";
}

contracts::Receipt send(partner::Client& c, const std::string& origin, contracts::Submit s = test_support::notice()) {
  s.header.origin = origin;
  auto r = c.send(s);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE("a chain partner that sets origin is refused at header.origin", "[integration][origin]") {
  BrokerHarness h;  // ALPHA is a chain partner
  h.start();
  auto alpha = h.client("ALPHA");

  auto refused = send(alpha, "file:AIR-ZZ/bookings.csv");
  CHECK(refused.status == ReceiptStatus::kRejected);
  CHECK(refused.code == contracts::ErrorCode::kMalformedEnvelope);
  REQUIRE(refused.errors.size() == 1);
  CHECK(refused.errors[0].pointer == "header.origin");
  CHECK(refused.errors[0].code == "not_adapter");
  CHECK_THAT(refused.errors[0].reason, Catch::Contains("chain-partner"));

  // Its own submits without origin are accepted and recorded as a chain partner's.
  auto own = test_support::notice();
  auto accepted = send(alpha, "", own);
  REQUIRE(accepted.status == ReceiptStatus::kAccepted);
  CHECK(assurance_of(h, own.header.message_id) == "chain-partner");

  // `keten log resend` marks a resent copy with resend:<id>, for any partner.
  auto copy = test_support::notice();
  REQUIRE(send(alpha, "resend:" + own.header.message_id, copy).status == ReceiptStatus::kAccepted);
  CHECK(assurance_of(h, copy.header.message_id) == "chain-partner");
}

TEST_CASE("a party served by an adapter may set origin, and the channel is its assurance level",
          "[integration][origin]") {
  BrokerHarness h;
  for (auto& p : h.options().partners) {
    if (p.id == "ALPHA") p.role = broker::core::PartnerRole::kNonChain;
  }
  h.start();
  auto alpha = h.client("ALPHA");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"file:ALPHA/notice-1.json", "file-adapter"},
      {"email:clerk@alpha.example", "mail-adapter"},
      {"", "adapter"},
  };
  for (const auto& [origin, assurance] : cases) {
    INFO(origin);
    auto s = test_support::notice();
    auto r = send(alpha, origin, s);
    REQUIRE(r.status == ReceiptStatus::kAccepted);
    CHECK(assurance_of(h, s.header.message_id) == assurance);
  }
}
