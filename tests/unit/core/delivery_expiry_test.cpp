// Expiry by a contract's ttl (delivery_expiry.cpp): never sent late, on the pump path and by the
// sweep, with an injected clock.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "broker/core/delivery.h"
#include "broker/core/pipeline.h"
#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"
#include "tests/support/core_fixture.h"

namespace {

using broker::core::DeliveryScheduler;
using contracts::Millis;

constexpr Millis kT0 = 1'700'000'000'000;
constexpr Millis kTtl = 60'000;

broker::core::SensitiveByContract sensitive_of(contracts::ContractRegistry& registry) {
  auto s = broker::core::sensitive_by_contract(registry);
  REQUIRE(s);
  return std::move(*s);
}

struct Fixture {
  test_support::TempDir dir;
  broker::store::SqliteStore store = test_support::open_store(dir);
  contracts::ContractRegistry registry = [] {
    auto r = test_support::load_test_contracts();
    r.find("test.notice", 1)->ttl = kTtl;  // as `"ttl": "PT1M"` in the file
    return r;
  }();
  broker::core::SensitiveByContract sensitive = sensitive_of(registry);
  std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE"};
  broker::core::BrokerOptions options = [] {
    broker::core::BrokerOptions o;
    o.ack_timeout = std::chrono::milliseconds(1000);
    o.session_timeout = std::chrono::milliseconds(10'000'000);
    return o;
  }();
  DeliveryScheduler scheduler{store, options, &registry, &sensitive};

  // One notice for BRAVO accepted at `at`.
  void submit(const std::string& id, Millis at) {
    REQUIRE(store.begin());
    broker::core::PipelineDeps deps{store, registry, partners};
    auto s = test_support::notice_submit(id, R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[]})");
    s.header.recipients = {"BRAVO"};
    auto out = broker::core::process_submit(deps, "ALPHA", s, at);
    REQUIRE(out);
    REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
    scheduler.mark_dirty(out->recipients_with_new_deliveries);
    REQUIRE(store.commit());
  }

  // The frames one pump sends, without the sweep (expire) first when `sweep` is false.
  std::size_t turn(Millis now, bool sweep) {
    REQUIRE(store.begin());
    if (sweep) REQUIRE(scheduler.expire(now));
    auto out = scheduler.pump(now);
    REQUIRE(out);
    REQUIRE(store.commit());
    return out->size();
  }

  std::vector<broker::store::LogEvent> expired() {
    auto log = store.read_log(0, 1000);
    REQUIRE(log);
    std::vector<broker::store::LogEvent> out;
    for (auto& row : *log) {
      if (row.event == "dead_lettered") out.push_back(row);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a pending delivery past its ttl is expired by the pump, never sent late", "[core][delivery][expiry]") {
  Fixture f;
  f.submit("m-old", kT0);
  f.submit("m-new", kT0 + kTtl / 2);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0 + kTtl));
  // At exactly the ttl the first has expired; the second is sent.
  CHECK(f.turn(kT0 + kTtl, false) == 1);
  auto rows = f.expired();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].message_id == "m-old");
  CHECK(rows[0].recipient == "BRAVO");
  // Never sent: no attempt to name (a dead letter's detail leaves attempt 0 out).
  CHECK(nlohmann::json::parse(rows[0].detail) == nlohmann::json{{"reason", "expired"}});
  auto counts = f.store.count_deliveries("BRAVO");
  REQUIRE(counts);
  CHECK(counts->dead == 1);
  CHECK(counts->in_flight == 1);
}

TEST_CASE("the ttl sweep expires pending deliveries of an absent recipient when the ttl passes, not before",
          "[core][delivery][expiry]") {
  Fixture f;
  f.submit("m-1", kT0);
  CHECK(f.turn(kT0 + kTtl - 1, true) == 0);
  CHECK(f.expired().empty());
  CHECK(f.scheduler.has_work(kT0 + kTtl + 1000));
  CHECK(f.turn(kT0 + kTtl + 1000, true) == 0);
  REQUIRE(f.expired().size() == 1);
  auto counts = f.store.count_deliveries("BRAVO");
  REQUIRE(counts);
  CHECK(counts->dead == 1);
  CHECK(counts->pending == 0);
  // A recipient connecting afterwards gets nothing.
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0 + 2 * kTtl));
  CHECK(f.turn(kT0 + 2 * kTtl, true) == 0);
}

TEST_CASE("a delivery sent before its ttl and acknowledged after it is delivered, not expired",
          "[core][delivery][expiry]") {
  Fixture f;
  f.submit("m-1", kT0);
  REQUIRE(f.scheduler.on_credit("conn-1", "BRAVO", 8, kT0 + kTtl - 10));
  REQUIRE(f.turn(kT0 + kTtl - 10, true) == 1);
  auto d = f.store.count_deliveries("BRAVO");
  REQUIRE(d);
  REQUIRE(d->in_flight == 1);
  REQUIRE(f.store.begin());
  auto log = f.store.read_log(0, 1000);
  REQUIRE(log);
  std::uint64_t id = 0;
  for (const auto& row : *log) {
    if (row.event == "delivered") id = static_cast<std::uint64_t>(row.delivery_id);
  }
  f.scheduler.touch("conn-1", kT0 + kTtl + 5);
  REQUIRE(f.scheduler.on_ack("conn-1", "BRAVO", id, kT0 + kTtl + 5));
  REQUIRE(f.store.commit());
  CHECK(f.turn(kT0 + kTtl + 2000, true) == 0);
  CHECK(f.expired().empty());
  auto counts = f.store.count_deliveries("BRAVO");
  REQUIRE(counts);
  CHECK(counts->acked == 1);
}

TEST_CASE("contract files accept a ttl as an ISO 8601 duration and refuse years, months and nonsense",
          "[core][expiry][contracts]") {
  test_support::TempDir dir;
  auto write = [&](const std::string& ttl) {
    const auto path = dir / "test.ttl.v1.json";
    std::ofstream(path) << R"({"contract": "test.ttl", "version": 1, "description": "d", "owner": "ALPHA",
      "consumers": ["BRAVO"], "ttl": )" << ttl << R"(, "schema": {"type": "object"}})";
    return contracts::load_contract_file(path);
  };
  auto ok = write("\"PT48H\"");
  REQUIRE(ok);
  CHECK(ok->ttl == 48 * 3600 * 1000LL);
  for (const char* bad : {"\"P1Y\"", "\"P1M\"", "\"PT0S\"", "\"48h\"", "48"}) {
    auto r = write(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find("'ttl' must be an ISO 8601 duration") != std::string::npos);
  }
}
