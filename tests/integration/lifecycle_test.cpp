// Data over years, over real brokers and real SQLite files: the contract history (a served
// version's text cannot change; `keten log revalidate` rebuilds the rules of the day).
#include <catch2/catch.hpp>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "broker/core/broker.h"
#include "broker/core/start_checks.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/broker_harness.h"
#include "tests/support/manual_clock.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using contracts::ReceiptStatus;
using test_support::BrokerHarness;
using test_support::ManualClock;
using test_support::notice;
using test_support::run;
using test_support::TempDir;

// The test contract set copied into `dir`, without test.notice v2 unless `with_v2` (a test adds its own).
fs::path copy_contracts(const TempDir& dir, bool with_v2 = false) {
  const fs::path out = dir / "contracts";
  fs::create_directories(out);
  for (const auto& entry : fs::directory_iterator(test_support::test_contracts_dir())) {
    if (entry.is_regular_file() && (with_v2 || entry.path().filename() != "test.notice.v2.json")) {
      fs::copy_file(entry.path(), out / entry.path().filename());
    }
  }
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void replace(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

void replace_in(const fs::path& path, const std::string& from, const std::string& to) {
  std::string text = read_text(path);
  replace(text, from, to);
  write_text(path, text);
}

// ALPHA sends one notice of `version` about `case_ref` and the broker accepts it; its message id.
std::string send_notice(BrokerHarness& h, const std::string& case_ref, std::uint32_t version = 1) {
  auto alpha = h.client("ALPHA");
  auto submit = notice(partner::new_message_id(), case_ref);
  submit.header.version = version;
  auto receipt = alpha.send(submit);
  REQUIRE(receipt);
  REQUIRE(receipt->status == ReceiptStatus::kAccepted);
  return submit.header.message_id;
}

// The backup's report names the messages the copy holds.
bool backup_reports_messages(const std::string& out, int messages) {
  return out.find(", " + std::to_string(messages) + " messages, ") != std::string::npos;
}

// The case's handover-log rows as a running broker has committed them (a read-only connection).
std::vector<broker::store::LogEvent> case_rows(const BrokerHarness& h, const std::string& case_ref) {
  broker::store::StoreOptions o;
  o.path = h.dir() / "store" / "keten.db";
  o.read_only = true;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  auto rows = store->read_case_log(case_ref);
  REQUIRE(rows);
  return std::move(*rows);
}

}  // namespace

TEST_CASE("a contract version whose text changed after it was served is refused at start, naming the file",
          "[integration][lifecycle]") {
  TempDir contracts_dir;
  const fs::path contracts = copy_contracts(contracts_dir);
  BrokerHarness h({"ALPHA", "BRAVO", "CHARLIE"}, contracts);
  h.start();
  send_notice(h, "9990012345");
  h.stop();

  const fs::path edited = contracts / "test.notice.v1.json";
  const std::string original = read_text(edited);
  // White space and key order are not the text: a reformatted file is the same version.
  replace_in(edited, "\"version\": 1,", "\"version\":   1 ,");
  REQUIRE(broker::core::check_start_config(h.options()));
  replace_in(edited, "\"maxLength\": 200", "\"maxLength\": 20");

  auto started = broker::core::Broker::start(h.options());
  REQUIRE_FALSE(started);
  CHECK(started.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(started.error().detail, Contains(edited.string()));
  CHECK_THAT(started.error().detail, Contains("test.notice v1 was first served on"));
  CHECK_THAT(started.error().detail, Contains("test.notice.v2.json"));

  // The same check in `keten serve --check-config` and at `keten serve`: exit 2 naming the file.
  const fs::path config = h.write_files();
  auto checked = run({test_support::keten_binary(), "serve", "--config", config.string(), "--check-config"});
  CHECK(checked.exit_code == 2);
  CHECK_THAT(checked.err, Contains(edited.string()));
  auto served = run({test_support::keten_binary(), "serve", "--config", config.string()});
  CHECK(served.exit_code == 2);
  CHECK_THAT(served.err, Contains("a served version cannot change"));

  // The way out: the old text back, the change as a new version.
  write_text(edited, original);
  std::string v2 = original;
  replace(v2, "\"version\": 1", "\"version\": 2");
  replace(v2, "\"maxLength\": 200", "\"maxLength\": 20");
  replace(v2, "\"schema\"", "\"compatibility\": \"NONE\",\n  \"schema\"");
  write_text(contracts / "test.notice.v2.json", v2);
  h.start();
  send_notice(h, "9990012345");
  h.stop();
}

TEST_CASE("revalidate tells a payload valid under the rules of its day from one valid under today's",
          "[integration][lifecycle]") {
  TempDir contracts_dir;
  const fs::path contracts = copy_contracts(contracts_dir);
  BrokerHarness h({"ALPHA", "BRAVO", "CHARLIE"}, contracts);
  const std::string kCase = "9990077777";
  h.start();
  send_notice(h, kCase);
  h.stop();

  // Version 2 makes `priority` required (a breaking version, agreed by everyone): the notice of
  // version 1 above lacks it.
  std::string v2 = read_text(contracts / "test.notice.v1.json");
  replace(v2, "\"version\": 1", "\"version\": 2");
  replace(v2, "\"required\": [\"planned_at\", \"location\", \"items\"]",
          "\"required\": [\"planned_at\", \"location\", \"items\", \"priority\"]");
  replace(v2, "\"note\":", "\"priority\": {\"type\": \"string\"},\n      \"note\":");
  replace(v2, "\"schema\"", "\"compatibility\": \"NONE\",\n  \"schema\"");
  write_text(contracts / "test.notice.v2.json", v2);
  h.start();
  h.stop();

  const std::string store = h.options().store.string();
  // With a payload key every payload is sealed (under its case key): revalidation needs the key.
  auto now = run({test_support::keten_binary(), "log", "revalidate", "--store", store, "--case", kCase, "--format", "json",
                  "--payload-key", h.options().payload_key});
  INFO(now.out << now.err);
  CHECK(now.exit_code == 1);  // a difference is a finding
  auto report = nlohmann::json::parse(now.out);
  REQUIRE(report["messages"].size() == 1);
  const auto& m = report["messages"][0];
  CHECK(m["version"] == 1);
  CHECK(m["then"]["version"] == 1);
  CHECK(m["then"]["valid"] == true);
  CHECK(m["today"]["version"] == 2);
  CHECK(m["today"]["valid"] == false);
  CHECK(m["today"]["errors"][0]["pointer"] == "/priority");
  CHECK(m["difference"] == "valid_then_invalid_today");
  CHECK(report["differences"] == 1);

  // As of the moment it was accepted, today's rules were still version 1: no difference.
  const std::string accepted_at = m["accepted_at"];
  auto then = run({test_support::keten_binary(), "log", "revalidate", "--store", store, "--case", kCase, "--as-of",
                   accepted_at, "--payload-key", h.options().payload_key});
  INFO(then.out << then.err);
  CHECK(then.exit_code == 0);
  CHECK_THAT(then.out, Contains("then : v1"));
  CHECK_THAT(then.out, Contains("today: v1"));
  CHECK_THAT(then.out, Contains("0 message(s) with a difference"));

  // The read is recorded in the log like the other inspector tools' reads.
  auto verify = run({test_support::keten_binary(), "log", "verify", "--store", store});
  CHECK(verify.exit_code == 0);
}

TEST_CASE("a delivery past its contract's ttl is expired, never delivered late", "[integration][lifecycle]") {
  TempDir contracts_dir;
  const fs::path contracts = copy_contracts(contracts_dir, true);
  // Version 1 of test.notice expires after one second; version 2 has no ttl.
  replace_in(contracts / "test.notice.v1.json", "\"owner\":", "\"ttl\": \"PT1S\",\n  \"owner\":");
  ManualClock clock;  // outlives the broker
  BrokerHarness h({"ALPHA", "BRAVO", "CHARLIE"}, contracts);
  h.use_clock(clock.clock());
  const std::string kCase = "9990055555";
  h.start();
  // Nobody is connected to take it: both consumers' deliveries wait.
  const std::string late = send_notice(h, kCase, 1);

  // The broker expires them on its own once the ttl has passed (no consumer needs to come back).
  clock.advance(2s);  // past the ttl, and past the next ttl sweep (one a second)
  std::vector<broker::store::LogEvent> expired;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (expired.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);  // polling a file written by another thread: no socket to wait on
    expired.clear();
    for (auto& row : case_rows(h, kCase)) {
      if (row.event == "dead_lettered" && row.message_id == late) expired.push_back(row);
    }
  }
  REQUIRE(expired.size() == 2);
  for (const auto& row : expired) {
    CHECK(nlohmann::json::parse(row.detail)["reason"] == "expired");
    CHECK((row.recipient == "BRAVO" || row.recipient == "CHARLIE"));
  }

  // BRAVO connects after the ttl: the first (and only) delivery it gets is the later message
  // without a ttl; the expired one never comes.
  const std::string fresh = send_notice(h, kCase, 2);
  {
    auto bravo = h.client("BRAVO");
    auto d = bravo.receive(30s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    CHECK((*d)->header.message_id == fresh);
    REQUIRE(bravo.ack((*d)->delivery_id));
    auto barrier = bravo.send(notice(partner::new_message_id(), "barrier"));  // answered after the ack committed
    REQUIRE(barrier);
  }
  h.stop();
  for (const auto& row : case_rows(h, kCase)) {
    if (row.message_id == late) CHECK(row.event != "delivered");
  }

  // The replay shows the expiry; the log stays intact.
  const std::string store = (h.dir() / "store" / "keten.db").string();
  auto replay = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--format", "json"});
  INFO(replay.out << replay.err);
  CHECK(replay.exit_code == 0);
  int shown = 0;
  const auto timeline = nlohmann::json::parse(replay.out);
  for (const auto& event : timeline["events"]) {
    if (event["event"] == "dead_lettered" && event["detail"]["reason"] == "expired") ++shown;
  }
  CHECK(shown == 2);
}

TEST_CASE("a backup taken under load is a consistent prefix, verifies, and restores", "[integration][lifecycle]") {
  BrokerHarness h;
  auto key = broker::audit::generate_signing_key();
  h.options().signing_key = broker::audit::seed_hex(key);
  h.options().checkpoint_interval = 100ms;
  h.start();

  // A producer sending all the time the backup is taken.
  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    auto alpha = h.client("ALPHA");
    while (!stop.load()) {
      auto receipt = alpha.send(notice(partner::new_message_id(), "9990044444"));
      if (receipt && receipt->status == ReceiptStatus::kAccepted) ++accepted;
    }
  });
  auto wait_for = [&](int n) {
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (accepted.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return accepted.load() >= n;
  };
  const bool warmed = wait_for(30);
  TempDir out;
  const fs::path copy = out / "backup.db";
  const fs::path store = h.dir() / "store" / "keten.db";
  auto backup = run({test_support::keten_binary(), "store", "backup", "--store", store.string(), "--to", copy.string(),
                     "--signing-key", key.public_hex},
                    "", 120s);
  const int at_backup = accepted.load();
  const bool went_on = wait_for(at_backup + 30);  // the broker kept serving after the copy
  stop = true;
  producer.join();
  h.stop();
  REQUIRE(warmed);
  REQUIRE(went_on);
  INFO(backup.out << backup.err);
  REQUIRE(backup.exit_code == 0);
  CHECK_THAT(backup.out, Contains("quick_check: ok"));
  CHECK_THAT(backup.out, Contains("Merkle tree: intact: "));
  CHECK((fs::status(copy).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK_FALSE(fs::exists(copy.string() + "-wal"));
  // Never over an existing file.
  auto again = run({test_support::keten_binary(), "store", "backup", "--store", store.string(), "--to", copy.string()});
  CHECK(again.exit_code == 2);

  auto open_read_only = [](const fs::path& path) {
    broker::store::StoreOptions o;
    o.path = path;
    o.read_only = true;
    auto s = broker::store::SqliteStore::open(o);
    REQUIRE(s);
    return std::move(*s);
  };
  auto backup_store = open_read_only(copy);
  auto backup_log = backup_store.read_log_data();
  REQUIRE(backup_log);
  auto full_store = open_read_only(store);
  auto full_log = full_store.read_log_data();
  REQUIRE(full_log);
  CHECK(broker::audit::verify_log(*backup_log, {key.public_hex}).ok);

  // A prefix: the copy's log is the broker's log up to some seq, row for row, and the copy holds
  // exactly the messages whose `accepted` row is in that prefix, each with its deliveries.
  REQUIRE(backup_log->rows.size() < full_log->rows.size());
  for (std::size_t i = 0; i < backup_log->rows.size(); ++i) {
    REQUIRE(backup_log->rows[i].seq == full_log->rows[i].seq);
    REQUIRE(backup_log->rows[i].hash == full_log->rows[i].hash);
  }
  int accepted_in_copy = 0;
  for (const auto& row : backup_log->rows) {
    if (row.event != "accepted") continue;
    ++accepted_in_copy;
    auto m = backup_store.find_message(row.message_id);
    REQUIRE(m);
    REQUIRE(m->has_value());
    CHECK((*m)->log_seq == row.seq);
  }
  int accepted_in_full = 0;
  for (const auto& row : full_log->rows) accepted_in_full += row.event == "accepted" ? 1 : 0;
  CHECK(accepted_in_copy >= 30);
  CHECK(accepted_in_copy < accepted_in_full);
  auto counts = backup_store.count_deliveries();
  REQUIRE(counts);
  CHECK(counts->pending + counts->in_flight + counts->acked + counts->dead == 2 * accepted_in_copy);
  CHECK(backup_reports_messages(backup.out, accepted_in_copy));

  // Restore: the copy in place of the store (its lock file, with the newer store's mark, removed),
  // a broker serving it, and the log still intact.
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) fs::remove(store.string() + suffix);
  fs::copy_file(copy, store);
  h.start();
  send_notice(h, "9990044444");
  h.stop();
  auto verify = run({test_support::keten_binary(), "log", "verify", "--store", store.string(), "--signing-key", key.public_hex});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}
