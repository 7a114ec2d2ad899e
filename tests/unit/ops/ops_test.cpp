// Ops against a real in-memory store, with injected times (no HTTP, no sleeping).
#include "broker/ops/ops.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "broker/store/sqlite_store.h"
#include "tests/support/ok.h"

using namespace broker;
using namespace std::chrono_literals;
using test_support::ok;

namespace {

constexpr contracts::Millis kStart = 1'000'000;

struct Fixture {
  store::SqliteStore store = ok(store::SqliteStore::open({":memory:"}));
  std::unique_ptr<ops::Ops> o;

  explicit Fixture(ops::AlertOptions alerts) {
    ops::OpsContext context;
    context.options.alerts = alerts;
    context.store_path = ":memory:";
    context.partners = {"ALPHA", "BRAVO"};
    context.session_timeout = 1s;
    o = ok(ops::Ops::start(context, store, kStart));
  }

  void append(const char* event, const char* recipient = "", const char* detail = "") {
    ok(store.begin());
    store::LogEvent e;
    e.at = kStart;
    e.event = event;
    e.contract = "test.notice";
    e.recipient = recipient;
    e.detail = detail;
    ok(store.append_log(e));
    ok(store.commit());
  }

  void tick(contracts::Millis now) { o->tick(store, {}, now); }

  std::vector<nlohmann::json> alerts() {
    std::vector<nlohmann::json> out;
    for (const auto& row : ok(store.read_log(1, 10'000))) {
      if (row.event == "alert") out.push_back(nlohmann::json::parse(row.detail));
    }
    return out;
  }

  double value(const char* name, const ops::Labels& labels = {}) { return o->metrics().value(name, labels); }
};

ops::AlertOptions quiet_alerts() {
  ops::AlertOptions a;
  a.check_interval = 100ms;
  a.partner_silent_after = 0ms;
  a.store_full_percent = 100;
  a.store_max_bytes = 1ull << 40;
  return a;
}

}  // namespace

TEST_CASE("ops counts committed handover-log rows, not those from before its start", "[ops]") {
  store::SqliteStore store = ok(store::SqliteStore::open({":memory:"}));
  ok(store.begin());
  store::LogEvent old;
  old.event = "accepted";
  old.contract = "test.notice";
  ok(store.append_log(old));
  ok(store.commit());
  ops::OpsContext context;
  context.store_path = ":memory:";
  auto o = ok(ops::Ops::start(context, store, kStart));
  ok(store.begin());
  ok(store.append_log(old));
  ok(store.commit());
  o->tick(store, {}, kStart + 10);
  CHECK(o->metrics().value("keten_messages_total", {{"contract", "test.notice"}, {"outcome", "accepted"}}) == 1);
}

TEST_CASE("a silent partner alerts once as an alert event and clears when it speaks", "[ops]") {
  auto alerts = quiet_alerts();
  alerts.partner_silent_after = 500ms;
  Fixture f(alerts);
  f.tick(kStart + 200);
  CHECK(f.alerts().empty());
  f.tick(kStart + 600);
  auto fired = f.alerts();
  REQUIRE(fired.size() == 2);
  CHECK(fired[0]["kind"] == "partner_silent");
  CHECK(fired[0]["subject"] == "ALPHA");
  CHECK(fired[0]["value"] == 600);
  CHECK(fired[0]["threshold"] == 500);
  CHECK(f.value("keten_alerts_total", {{"kind", "partner_silent"}}) == 2);
  CHECK(f.value("keten_alerts_active") == 2);

  f.tick(kStart + 800);  // still silent: nothing new
  CHECK(f.alerts().size() == 2);
  f.o->frame_from("ALPHA", kStart + 900);
  f.tick(kStart + 1'000);
  CHECK(f.value("keten_alerts_active") == 1);
  CHECK(f.value("keten_partner_connected", {{"partner", "ALPHA"}}) == 1);
  CHECK(f.value("keten_partner_connected", {{"partner", "BRAVO"}}) == 0);
  CHECK(f.alerts().size() == 2);
}

TEST_CASE("dead letters and norm violations alert per check and clear without new ones", "[ops]") {
  Fixture f(quiet_alerts());
  f.append("dead_lettered", "BRAVO");
  f.append("norm_violated", "BRAVO", R"({"norm":"within_1_day","state":"open","by_ms":5})");
  // Its late close is the same obligation, not a second violation.
  f.append("norm_violated", "BRAVO", R"({"norm":"within_1_day","state":"closed","by_ms":9,"was_open":true})");
  f.tick(kStart + 100);
  auto fired = f.alerts();
  REQUIRE(fired.size() == 2);
  CHECK(fired[0]["kind"] == "dead_letters");
  CHECK(fired[0]["subject"] == "BRAVO");
  CHECK(fired[1]["kind"] == "norm_violations");
  CHECK(fired[1]["subject"] == "test.notice");
  CHECK(f.value("keten_dead_letters_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 1);
  CHECK(f.value("keten_norm_violations_total", {{"contract", "test.notice"}, {"norm", "within_1_day"}}) == 1);
  f.tick(kStart + 200);
  CHECK(f.value("keten_alerts_active") == 0);
  f.append("dead_lettered", "BRAVO");  // a new crossing fires again
  f.tick(kStart + 300);
  CHECK(f.alerts().size() == 3);
}

TEST_CASE("backlog gauges and the backlog alert come from the store's undelivered deliveries", "[ops]") {
  auto alerts = quiet_alerts();
  alerts.backlog_max = 1;
  alerts.oldest_undelivered_max = 10s;
  Fixture f(alerts);
  ok(f.store.begin());
  for (const char* id : {"m1", "m2"}) {
    store::NewMessage m;
    m.header.message_id = id;
    m.header.contract = "test.notice";
    m.header.version = 1;
    m.header.case_ref = "c";
    m.sender = "ALPHA";
    m.payload = "{}";
    m.recipients = {"BRAVO"};
    m.accepted_at = kStart - 20'000;
    auto seq = ok(f.store.insert_message(m));
    ok(f.store.insert_delivery(seq, "BRAVO"));
  }
  ok(f.store.commit());
  f.tick(kStart + 100);
  CHECK(f.value("keten_backlog", {{"recipient", "BRAVO"}}) == 2);
  CHECK(f.value("keten_backlog", {{"recipient", "ALPHA"}}) == 0);
  CHECK(f.value("keten_oldest_undelivered_age_seconds", {{"recipient", "BRAVO"}}) == 20.1);
  auto fired = f.alerts();
  REQUIRE(fired.size() == 2);
  CHECK(fired[0]["kind"] == "backlog");
  CHECK(fired[0]["value"] == 2);
  CHECK(fired[1]["kind"] == "oldest_undelivered");
  CHECK(fired[1]["subject"] == "BRAVO");
}

TEST_CASE("readiness and commit latency show in the metrics", "[ops]") {
  Fixture f(quiet_alerts());
  CHECK(f.value("keten_ready") == 0);
  f.o->set_ready(true);
  CHECK(f.value("keten_ready") == 1);
  f.o->commit_finished(3ms, true);
  auto text = ops::render_prometheus(f.o->metrics().snapshot());
  CHECK(text.find("keten_store_commit_seconds_bucket{result=\"ok\",le=\"0.0025\"} 0\n") != std::string::npos);
  CHECK(text.find("keten_store_commit_seconds_bucket{result=\"ok\",le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(text.find("keten_store_commit_seconds_count{result=\"ok\"} 1\n") != std::string::npos);
  CHECK(f.o->http_endpoint().empty());
}
