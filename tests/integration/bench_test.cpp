// keten bench end to end: `keten bench` runs keten-bench beside it (its own executable), which
// starts its own broker (the `keten serve` beside it, a child on a temporary store) and sends
// through the real client library; or it targets a running broker with partner profiles.
// Checks what was delivered and that the JSON carries the figures bench/run.sh reads. No timing
// assertions: figures are only required to be present and consistent.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "broker/store/sqlite_store.h"
#include "tests/support/broker_harness.h"
#include "tests/support/ok.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace std::chrono_literals;

// keten-bench, built beside keten.
std::string keten_bench_binary() {
  return (std::filesystem::path(test_support::keten_binary()).parent_path() / "keten-bench").string();
}

// A copy of the executable `from` at `to`, runnable.
void copy_executable(const std::string& from, const std::filesystem::path& to) {
  std::filesystem::copy_file(from, to);
  std::filesystem::permissions(to, std::filesystem::perms::owner_all);
}

void check_figures(const nlohmann::json& j, std::uint64_t messages) {
  INFO(j.dump());
  CHECK(j["error"].is_null());
  CHECK(j["accepted"] == messages);
  CHECK(j["rejected"] == 0);
  CHECK(j["delivered"] == messages);
  REQUIRE(j["throughput"].is_number());
  CHECK(j["throughput"].get<double>() > 0);
  for (const char* p : {"p50", "p99", "p999"}) {
    REQUIRE(j["latency_us"][p].is_number_unsigned());
  }
  CHECK(j["latency_us"]["count"] == messages);
  CHECK(j["latency_us"]["p50"].get<std::uint64_t>() <= j["latency_us"]["p99"].get<std::uint64_t>());
  CHECK(j["latency_us"]["p99"].get<std::uint64_t>() <= j["latency_us"]["p999"].get<std::uint64_t>());
}

}  // namespace

TEST_CASE("keten bench runs its own broker and delivers every message") {
  auto r = test_support::run({test_support::keten_binary(), "bench", "--messages", "2000", "--window", "32", "--json"},
                             "", 300s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  check_figures(j, 2000);
  CHECK(j["payload_bytes"] == 1024);  // the sample padded to --size
  CHECK(j["contract"] == "departure.scheduled");
  // The child broker's CPU time and peak RSS come from /proc.
  REQUIRE(j["broker"].is_object());
  CHECK(j["broker"]["peak_rss_bytes"].get<std::uint64_t>() > 0);
  CHECK(j["broker"]["cpu_seconds"].get<double>() > 0);
}

TEST_CASE("keten bench targets a running broker with partner profiles") {
  test_support::BrokerHarness h;
  h.start();
  auto write_profile = [&](const std::string& partner) {
    auto p = h.profile(partner);
    auto path = h.dir() / (partner + ".profile.toml");
    std::ofstream(path) << "broker = \"" << p.broker << "\"\nbroker_public_key = \"" << p.broker_public_key
                        << "\"\npartner = \"" << partner << "\"\nsecret_key = \"" << p.secret_key << "\"\n";
    return path.string();
  };
  auto payload = h.dir() / "notice.json";
  std::ofstream(payload) << test_support::notice().payload;
  auto r = test_support::run({test_support::keten_binary(), "bench", "--messages", "200", "--window", "8", "--contract",
                              "test.notice", "--payload", payload.string(), "--size", "0", "--producer-profile",
                              write_profile("ALPHA"), "--consumer-profile", write_profile("BRAVO"), "--json"},
                             "", 120s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  check_figures(j, 200);
  CHECK(j["broker"].is_null());  // no --broker-pid: the broker's usage is not known
}

TEST_CASE("keten bench runs on a given store in place, run after run") {
  test_support::TempDir dir;
  const auto store_path = dir / "big.db";
  broker::store::StoreOptions options;
  options.path = store_path;
  test_support::ok(broker::store::SqliteStore::open(options));  // an empty store of this version
  for (int run = 1; run <= 2; ++run) {
    // The second run opens sealed rows of the first: the payload key is kept beside the store.
    auto r = test_support::run(
        {test_support::keten_binary(), "bench", "--messages", "300", "--store", store_path.string(), "--json"}, "",
        120s);
    INFO("run " << run << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    check_figures(nlohmann::json::parse(r.out), 300);
  }
  CHECK(std::filesystem::exists(store_path.string() + ".payload_key"));
  options.read_only = true;
  auto store = test_support::ok(broker::store::SqliteStore::open(options));
  // Both runs' messages are in the one store. (The bench stops its broker once every delivery
  // arrived, so the last acks may still be on their way: not all 600 need be acknowledged.)
  const auto counts = test_support::ok(store.count_deliveries());
  CHECK(counts.pending + counts.in_flight + counts.acked + counts.dead == 600);
  CHECK(counts.acked >= 300);
}

TEST_CASE("keten bench compares the SDK's natural batching with one frame per message") {
  auto one_by_one = test_support::run(
      {test_support::keten_binary(), "bench", "--messages", "500", "--window", "16", "--one-by-one", "--json"}, "",
      300s);
  INFO(one_by_one.err);
  REQUIRE(one_by_one.exit_code == 0);
  check_figures(nlohmann::json::parse(one_by_one.out), 500);

  auto r = test_support::run(
      {test_support::keten_binary(), "bench", "--messages", "500", "--window", "16", "--compare-batching", "1"}, "",
      300s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("round 1 natural-batching throughput_msg_s="));
  CHECK_THAT(r.out, Catch::Contains("round 1 one-by-one throughput_msg_s="));
  CHECK_THAT(r.out, Catch::Contains("natural batching / one-by-one throughput (median of 1 rounds)"));
}

TEST_CASE("keten bench without keten-bench beside it says where it looked and exits 2") {
  test_support::TempDir dir;
  // keten and keten-full (which runs `keten bench`), without keten-bench.
  copy_executable(test_support::keten_binary(), dir / "keten");
  copy_executable((std::filesystem::path(test_support::keten_binary()).parent_path() / "keten-full").string(),
                  dir / "keten-full");  // keten-inspect is not needed for `keten bench`
  auto r = test_support::run({(dir / "keten").string(), "bench", "--messages", "200", "--json"}, "", 60s);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains((dir / "keten-bench").string() + " not found"));
}

TEST_CASE("keten-bench without keten beside it says where it looked and exits 2") {
  test_support::TempDir dir;
  copy_executable(keten_bench_binary(), dir / "keten-bench");  // keten-bench alone
  auto r = test_support::run({(dir / "keten-bench").string(), "--messages", "200", "--json"}, "", 60s);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("no keten to run the bench broker at " + (dir / "keten").string()));

  // --keten PATH names another keten: the bench runs against it.
  auto with = test_support::run({(dir / "keten-bench").string(), "--keten", test_support::keten_binary(), "--messages",
                                 "200", "--window", "16", "--json"},
                                "", 120s);
  INFO(with.err);
  REQUIRE(with.exit_code == 0);
  check_figures(nlohmann::json::parse(with.out), 200);
}

TEST_CASE("keten bench passes every argument on to keten-bench, --help and bad options included") {
  for (const std::vector<std::string>& prefix : {std::vector<std::string>{test_support::keten_binary(), "bench"},
                                                 std::vector<std::string>{keten_bench_binary()}}) {
    auto argv = prefix;
    argv.emplace_back("--help");
    auto help = test_support::run(argv);
    INFO(prefix.size() << " " << help.err);
    CHECK(help.exit_code == 0);
    for (const char* option : {"--messages", "--window", "--compare-batching", "--store", "--keten"}) {
      CHECK_THAT(help.out, Catch::Contains(option));
    }
    argv = prefix;
    argv.insert(argv.end(), {"--messages", "0"});  // out of range
    auto bad = test_support::run(argv);
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("--messages"));
  }
  // keten's own options before `bench` go along.
  auto r = test_support::run({test_support::keten_binary(), "--log-level", "warn", "--log-format", "json", "bench",
                              "--messages", "200", "--window", "16", "--json"},
                             "", 120s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  check_figures(nlohmann::json::parse(r.out), 200);
}
