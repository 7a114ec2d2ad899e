// The operator's view of a real `keten serve`: /healthz, /readyz and /metrics over real HTTP with
// values checked against what the test sent, each alert triggered and found as an `alert` event in
// the handover log, and the JSON log format. docs/operations.md.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "broker/store/sqlite_store.h"
#include "tests/support/broker_harness.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using test_support::BrokerHarness;
using test_support::ChildProcess;
using test_support::http;

// The value of the sample whose name and labels are exactly `series` (as rendered), or nullopt.
std::optional<double> sample(const std::string& metrics, const std::string& series) {
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// Polls `done` every 100 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Adds keys to the config's [broker] table and appends tables at its end.
void extend_config(const std::filesystem::path& config, const std::string& broker_keys, const std::string& tables) {
  std::string text = slurp(config);
  text.replace(text.find("[broker]\n"), 9, "[broker]\n" + broker_keys);
  std::ofstream(config) << text << "\n" << tables;
}

// A `keten serve` child on the harness's files with an HTTP endpoint on an ephemeral port; its
// stderr goes to `stderr_path`.
struct ServedBroker {
  std::unique_ptr<ChildProcess> process;
  std::string endpoint;
  std::string http;

  ServedBroker(const std::filesystem::path& config, const std::filesystem::path& stderr_path,
               const std::string& log_format = "text") {
    std::string command = "exec '" + test_support::keten_binary() + "' --log-format " + log_format +
                          " serve --config '" + config.string() + "' --http-listen 127.0.0.1:0 2>'" +
                          stderr_path.string() + "'";
    process = std::make_unique<ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", command});
    auto listening = process->read_line(30s);
    INFO("keten serve stderr: " << slurp(stderr_path));
    REQUIRE(listening);
    REQUIRE(listening->rfind("listening ", 0) == 0);
    endpoint = listening->substr(10);
    auto http_line = process->read_line(10s);
    REQUIRE(http_line);
    REQUIRE(http_line->rfind("http ", 0) == 0);
    http = http_line->substr(5);
  }
  ~ServedBroker() { stop(); }
  void stop() {
    if (!process) return;
    process->signal(SIGTERM);
    process->wait(20s);
    process.reset();
  }
  std::string metrics() const { return test_support::http(http, "GET", "/metrics").body; }
};

// The `alert` events of the store's handover log, as parsed details.
std::vector<nlohmann::json> alert_events(const std::filesystem::path& store_path) {
  std::vector<nlohmann::json> out;
  auto store = broker::store::SqliteStore::open({store_path, true, 5s, true});
  if (!store) return out;
  auto rows = store->read_log(1, 1'000'000);
  if (!rows) return out;
  for (const auto& r : *rows) {
    if (r.event == "alert") out.push_back(nlohmann::json::parse(r.detail));
  }
  return out;
}

bool has_alert(const std::vector<nlohmann::json>& events, const std::string& kind, const std::string& subject) {
  for (const auto& e : events) {
    if (e.value("kind", "") == kind && e.value("subject", "") == subject) return true;
  }
  return false;
}

std::size_t count_alerts(const std::vector<nlohmann::json>& events, const std::string& kind) {
  std::size_t n = 0;
  for (const auto& e : events) n += e.value("kind", "") == kind ? 1 : 0;
  return n;
}

const std::string kNotice = "test.notice";

}  // namespace

TEST_CASE("keten serve answers /healthz and /readyz and /metrics with the counts of a run", "[integration][ops]") {
  BrokerHarness h;  // keys and files only; the broker is the real binary
  auto config = h.write_files();
  auto log_path = h.dir() / "serve.log";
  ServedBroker broker(config, log_path, "json");

  CHECK(http(broker.http, "GET", "/healthz").status == 200);
  CHECK(eventually([&] { return http(broker.http, "GET", "/readyz").status == 200; }));  // once the loop runs
  CHECK(http(broker.http, "GET", "/nothing-here").status == 404);

  auto alpha = h.client("ALPHA", {}, broker.endpoint);
  for (int i = 0; i < 3; ++i) {
    auto r = alpha.send(test_support::notice());
    REQUIRE(r);
    REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
  }
  auto bad = test_support::notice();
  bad.payload = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"NOWHERE","items":[]})";
  auto rejected = alpha.send(bad);
  REQUIRE(rejected);
  REQUIRE(rejected->status == contracts::ReceiptStatus::kRejected);

  auto bravo = h.client("BRAVO", {}, broker.endpoint);
  for (int got = 0; got < 3;) {
    auto d = bravo.receive(10s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    REQUIRE(bravo.ack((*d)->delivery_id));
    ++got;
  }
  // CHARLIE never connects: its three deliveries stay in the backlog.
  const std::string accepted = "keten_messages_total{contract=\"test.notice\",outcome=\"accepted\"}";
  const std::string acks = "keten_acks_total{contract=\"test.notice\",recipient=\"BRAVO\"}";
  std::string m;
  REQUIRE(eventually([&] {
    m = broker.metrics();
    // Gauges are refreshed once a second: wait until they show the state after the acks.
    return sample(m, acks) == 3.0 && sample(m, "keten_backlog{recipient=\"BRAVO\"}") == 0.0 &&
           sample(m, "keten_backlog{recipient=\"CHARLIE\"}") == 3.0 && sample(m, "keten_sessions") >= 1.0;
  }));
  INFO(m);
  CHECK(sample(m, accepted) == 3.0);
  CHECK(sample(m, "keten_messages_total{contract=\"test.notice\",outcome=\"rejected\"}") == 1.0);
  CHECK(sample(m, "keten_rejections_total{contract=\"test.notice\",reason=\"schema_violation\"}") == 1.0);
  CHECK(sample(m, "keten_deliveries_total{contract=\"test.notice\",recipient=\"BRAVO\"}") == 3.0);
  CHECK(sample(m, "keten_backlog{recipient=\"CHARLIE\"}") == 3.0);
  CHECK(sample(m, "keten_oldest_undelivered_age_seconds{recipient=\"CHARLIE\"}") >= 0.0);
  CHECK(sample(m, "keten_partner_connected{partner=\"BRAVO\"}") == 1.0);
  CHECK(sample(m, "keten_partner_connected{partner=\"CHARLIE\"}") == 0.0);
  CHECK(sample(m, "keten_connected_partners") >= 1.0);
  CHECK(sample(m, "keten_sessions") >= 1.0);
  CHECK(sample(m, "keten_store_size_bytes") > 0.0);
  CHECK(sample(m, "keten_store_commit_seconds_count{result=\"ok\"}") >= 1.0);
  CHECK(sample(m, "keten_store_commit_seconds_bucket{result=\"ok\",le=\"+Inf\"}") ==
        sample(m, "keten_store_commit_seconds_count{result=\"ok\"}"));
  CHECK(sample(m, "keten_ready") == 1.0);
  CHECK(sample(m, "keten_alerts_active") == 0.0);  // the defaults are far from this small run
  CHECK(m.find("# TYPE keten_store_commit_seconds histogram") != std::string::npos);
  CHECK(m.find("# TYPE keten_messages_total counter") != std::string::npos);
  // The oldest undelivered age grows while CHARLIE stays away.
  REQUIRE(eventually([&] {
    return sample(broker.metrics(), "keten_oldest_undelivered_age_seconds{recipient=\"CHARLIE\"}") >= 1.0;
  }));

  broker.stop();
  // --log-format json: every stderr line is one JSON object; the broker's own lines carry fields.
  std::istringstream lines(slurp(log_path));
  std::string line;
  std::size_t parsed = 0;
  bool saw_started = false, saw_session = false;
  while (std::getline(lines, line)) {
    INFO(line);
    auto j = nlohmann::json::parse(line);
    ++parsed;
    CHECK(j.contains("time"));
    CHECK(j.contains("level"));
    if (j["logger"] == "broker" && j["event"] == "broker started") {
      saw_started = true;
      CHECK(j["endpoint"] == broker.endpoint);
      CHECK(j["partners"] == "3");
    }
    if (j["event"] == "session open" && j.value("partner", "") == "BRAVO") saw_session = true;
  }
  CHECK(parsed >= 3);
  CHECK(saw_started);
  CHECK(saw_session);
}

TEST_CASE("each alert fires once as an `alert` handover-log event", "[integration][ops]") {
  BrokerHarness h;
  h.options().ack_timeout = 2s;
  auto config = h.write_files();
  extend_config(config,
                "max_attempts = 1\ncheckpoint_interval_ms = 200\n"
                "signing_key = \"" + std::string(64, '7') + "\"\n",
                "[alerts]\ncheck_interval_ms = 200\nbacklog_max = 2\noldest_undelivered_ms = 500\n"
                "partner_silent_ms = 0\npartner_silent_ms_by_partner = { CHARLIE = 500 }\n"
                "store_max_bytes = 1000\ncheckpoint_overdue_ms = 1500\n");
  auto store_path = h.dir() / "store" / "keten.db";
  ServedBroker broker(config, h.dir() / "serve.log");

  auto alpha = h.client("ALPHA", {}, broker.endpoint);
  for (int i = 0; i < 3; ++i) {
    auto r = alpha.send(test_support::notice());
    REQUIRE(r);
    REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
  }
  std::vector<nlohmann::json> events;
  REQUIRE(eventually([&] {
    events = alert_events(store_path);
    return has_alert(events, "backlog", "CHARLIE") && has_alert(events, "oldest_undelivered", "CHARLIE") &&
           has_alert(events, "partner_silent", "CHARLIE") && has_alert(events, "store_nearly_full", "store");
  }));
  for (const auto& e : events) {
    if (e["kind"] == "backlog" && e["subject"] == "CHARLIE") {
      CHECK(e["value"] == 3);
      CHECK(e["threshold"] == 2);
    }
    if (e["kind"] == "store_nearly_full") CHECK(e["threshold"] == 900);
  }

  // max_attempts = 1: a nacked delivery is dead-lettered instead of sent again.
  auto bravo = h.client("BRAVO", {}, broker.endpoint);
  bool nacked = false;
  REQUIRE(eventually([&] {
    auto d = bravo.receive(500ms);
    REQUIRE(d);
    if (d->has_value()) {
      if (!nacked) {
        REQUIRE(bravo.nack((*d)->delivery_id, "cannot process"));
        nacked = true;
      } else {
        REQUIRE(bravo.ack((*d)->delivery_id));
      }
    }
    return has_alert(alert_events(store_path), "dead_letters", "BRAVO");
  }));

  // The checkpoint is overdue while another connection holds the store's write lock (longer than
  // the store's 5 s busy timeout); /healthz says the store is not writable meanwhile.
  {
    sqlite3* raw = nullptr;
    const int opened = sqlite3_open(store_path.c_str(), &raw);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> guard(raw, &sqlite3_close);  // closed on any exit
    sqlite3* db = guard.get();
    REQUIRE(opened == SQLITE_OK);
    // The broker may be inside a turn's transaction right now: wait for it, as any writer would.
    sqlite3_busy_timeout(db, 10'000);
    REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    bool unhealthy = eventually([&] { return http(broker.http, "GET", "/healthz").status == 503; }, 40s);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    CHECK(unhealthy);
  }
  REQUIRE(eventually([&] { return has_alert(alert_events(store_path), "checkpoint_overdue", "checkpoint"); }, 40s));
  CHECK(eventually([&] { return http(broker.http, "GET", "/healthz").status == 200; }, 40s));

  // Each crossing fired once, and the metrics count the alert events.
  events = alert_events(store_path);
  CHECK(count_alerts(events, "dead_letters") == 1);
  CHECK(count_alerts(events, "store_nearly_full") == 1);
  CHECK(count_alerts(events, "partner_silent") == 1);
  std::string m;
  CHECK(eventually([&] {
    m = broker.metrics();
    return sample(m, "keten_alerts_total{kind=\"checkpoint_overdue\"}") >= 1.0;
  }));
  INFO(m);
  CHECK(sample(m, "keten_alerts_total{kind=\"store_nearly_full\"}") == 1.0);
  CHECK(sample(m, "keten_alerts_total{kind=\"dead_letters\"}") == 1.0);
  CHECK(sample(m, "keten_dead_letters_total{contract=\"test.notice\",recipient=\"BRAVO\"}") == 1.0);
  CHECK(sample(m, "keten_nacks_total{contract=\"test.notice\",recipient=\"BRAVO\"}") == 1.0);
  CHECK(sample(m, "keten_store_max_bytes") == 1000.0);
}

TEST_CASE("keten serve refuses a bad http or alerts table and names the key", "[integration][ops]") {
  BrokerHarness h;
  auto config = h.write_files();
  std::string base = slurp(config);
  auto check = [&](const std::string& tables, const std::string& expected) {
    std::ofstream(config) << base << "\n" << tables;
    auto r = test_support::run({test_support::keten_binary(), "serve", "--config", config.string(), "--check-config"});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(expected) != std::string::npos);
  };
  check("[http]\nlisten = \"localhost\"\n", "http.listen");
  check("[alerts]\nbacklog = 5\n", "alerts.backlog: unknown key");
  check("[alerts]\nstore_full_percent = 0\n", "alerts.store_full_percent");
  check("[alerts]\npartner_silent_ms_by_partner = { NOBODY = 1000 }\n", "NOBODY");
  std::ofstream(config) << base << "\n[http]\nlisten = \"127.0.0.1:9464\"\n[alerts]\nenabled = false\n";
  auto ok = test_support::run({test_support::keten_binary(), "serve", "--config", config.string(), "--check-config"});
  CHECK(ok.exit_code == 0);
}
