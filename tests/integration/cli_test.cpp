// The keten binary as operators and partners run it: exit codes, JSON output, key files, configs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using test_support::keten_binary;
using test_support::run;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A running `keten serve` on the harness's files, with profile files pointing at it.
struct ServedBroker {
  test_support::BrokerHarness h;
  std::unique_ptr<test_support::ChildProcess> process;
  std::string endpoint;

  ServedBroker() {
    auto config = h.write_files("tcp://127.0.0.1:*");
    process = std::make_unique<test_support::ChildProcess>(
        std::vector<std::string>{keten_binary(), "serve", "--config", config.string()});
    auto line = process->read_line(20s);
    REQUIRE(line);
    REQUIRE(line->rfind("listening ", 0) == 0);
    endpoint = line->substr(10);
    for (const std::string partner : {"ALPHA", "BRAVO", "CHARLIE"}) {
      std::ofstream(h.dir() / (partner + ".profile.toml"))
          << "broker = \"" << endpoint << "\"\nbroker_public_key = \"keys/broker.public\"\npartner = \""
          << partner << "\"\nsecret_key = \"keys/" << partner << ".secret\"\n";
    }
  }
  ~ServedBroker() {
    process->signal(SIGTERM);
    process->wait(10s);
  }
  std::string profile(const std::string& partner) const { return (h.dir() / (partner + ".profile.toml")).string(); }
};

const char* kValid = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[]})";

}  // namespace

TEST_CASE("keten keygen writes a key pair and refuses to overwrite it", "[integration][cli]") {
  test_support::TempDir dir;
  auto r = run({keten_binary(), "keygen", "DTV", "--dir", (dir / "keys").string()});
  REQUIRE(r.exit_code == 0);
  auto pub = slurp(dir / "keys/DTV.public");
  auto sec = slurp(dir / "keys/DTV.secret");
  CHECK(pub.size() == 41);  // 40 Z85 characters and a newline
  CHECK(sec.size() == 41);
  CHECK(r.out.find(pub.substr(0, 40)) != std::string::npos);
  struct stat st {};
  REQUIRE(stat((dir / "keys/DTV.secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) == 0);
  auto again = run({keten_binary(), "keygen", "DTV", "--dir", (dir / "keys").string()});
  CHECK(again.exit_code == 2);
  CHECK(slurp(dir / "keys/DTV.public") == pub);
}

TEST_CASE("keten send prints the receipt as JSON and exits by status", "[integration][cli]") {
  ServedBroker b;
  auto payload = b.h.dir() / "notice.json";
  std::ofstream(payload) << kValid;

  auto accepted = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice",
                       "--case", "9990012345", "--id", "cli-1", payload.string()});
  REQUIRE(accepted.exit_code == 0);
  auto receipt = nlohmann::json::parse(accepted.out);
  CHECK(receipt["message_id"] == "cli-1");
  CHECK(receipt["status"] == "accepted");
  CHECK(receipt["recipients"] == nlohmann::json::array({"BRAVO", "CHARLIE"}));

  auto duplicate = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice",
                        "--case", "9990012345", "--id", "cli-1", "-"},
                       kValid);
  CHECK(duplicate.exit_code == 0);
  CHECK(nlohmann::json::parse(duplicate.out)["status"] == "duplicate");

  auto rejected = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice",
                       "--case", "9990012345", "-"},
                      R"({"planned_at":"soon","location":"AZC-TER-APEL","items":[]})");
  CHECK(rejected.exit_code == 1);
  auto r = nlohmann::json::parse(rejected.out);
  CHECK(r["status"] == "rejected");
  CHECK(r["code"] == "schema_violation");
  REQUIRE(r["errors"].size() == 1);
  CHECK(r["errors"][0]["pointer"] == "/planned_at");

  auto bad_profile = run({keten_binary(), "send", "--profile", (b.h.dir() / "missing.toml").string(), "--contract",
                          "test.notice", "--case", "9990012345", payload.string()});
  CHECK(bad_profile.exit_code == 2);
  CHECK_THAT(bad_profile.err, Catch::Contains("missing.toml"));
}

TEST_CASE("keten send exits 3 when no broker answers", "[integration][cli]") {
  test_support::BrokerHarness h;  // keys only, nothing listening on the port below
  h.write_files();
  std::ofstream(h.dir() / "p.toml") << "broker = \"tcp://127.0.0.1:9\"\nbroker_public_key = \"keys/broker.public\"\n"
                                       "partner = \"ALPHA\"\nsecret_key = \"keys/ALPHA.secret\"\n";
  auto r = run({keten_binary(), "send", "--profile", (h.dir() / "p.toml").string(), "--contract", "test.notice",
                "--case", "9990012345", "--timeout", "1", "-"},
               kValid);
  CHECK(r.exit_code == 3);
}

TEST_CASE("keten recv prints each delivery as a JSON line and acknowledges it", "[integration][cli]") {
  ServedBroker b;
  for (int i = 0; i < 3; ++i) {
    auto s = run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice", "--case",
                  "9990012345", "--id", "recv-" + std::to_string(i), "--occurred-at", "2025-03-03T09:12:00+01:00", "-"},
                 kValid);
    REQUIRE(s.exit_code == 0);
  }
  auto first = run({keten_binary(), "recv", "--profile", b.profile("BRAVO"), "--max", "2", "--wait", "5"});
  REQUIRE(first.exit_code == 0);
  std::istringstream lines(first.out);
  std::vector<nlohmann::json> got;
  for (std::string line; std::getline(lines, line);) got.push_back(nlohmann::json::parse(line));
  REQUIRE(got.size() == 2);
  CHECK(got[0]["message_id"] == "recv-0");
  CHECK(got[0]["contract"] == "test.notice");
  CHECK(got[0]["version"] == 1);
  CHECK(got[0]["case"] == "9990012345");
  CHECK(got[0]["sender"] == "ALPHA");
  CHECK(got[0]["attempt"] == 1);
  CHECK(got[0]["occurred_at"] == "2025-03-03T08:12:00.000Z");
  CHECK(got[0]["payload"]["location"] == "AZC-TER-APEL");

  // Acknowledged ones do not come back; the third one does.
  auto second = run({keten_binary(), "recv", "--profile", b.profile("BRAVO"), "--wait", "1"});
  REQUIRE(second.exit_code == 0);
  std::istringstream rest(second.out);
  std::vector<std::string> ids;
  for (std::string line; std::getline(rest, line);) ids.push_back(nlohmann::json::parse(line)["message_id"]);
  CHECK(ids == std::vector<std::string>{"recv-2"});
}

TEST_CASE("keten serve checks its config and exits 2 naming the problem", "[integration][cli]") {
  test_support::BrokerHarness h;
  auto config = h.write_files();
  auto ok = run({keten_binary(), "serve", "--config", config.string(), "--check-config"});
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("3 partners"));
  std::ofstream(h.dir() / "bad.toml") << "[broker]\nsecret_key = \"keys/broker.secret\"\nmax_attempts = 0\n";
  auto bad = run({keten_binary(), "serve", "--config", (h.dir() / "bad.toml").string()});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("broker.max_attempts"));
}

TEST_CASE("keten serve --check-config refuses what keten serve would refuse: no payload_key for medical fields",
          "[integration][cli]") {
  test_support::BrokerHarness h;
  auto config = h.write_files();
  // The same config without its payload_key: the test contracts have medical fields.
  std::ifstream in(config);
  std::ostringstream kept;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("payload_key", 0) != 0) kept << line << "\n";
  }
  std::ofstream(h.dir() / "no-key.toml") << kept.str();
  auto check = run({keten_binary(), "serve", "--config", (h.dir() / "no-key.toml").string(), "--check-config"});
  CHECK(check.exit_code == 2);
  CHECK_THAT(check.err, Catch::Contains("payload_key") && Catch::Contains("medical"));
  auto serve = run({keten_binary(), "serve", "--config", (h.dir() / "no-key.toml").string()});
  CHECK(serve.exit_code == 2);
  CHECK_THAT(serve.err, Catch::Contains("payload_key"));
}

TEST_CASE("keten contracts lint passes the migration-chain set and lists every problem of a broken one",
          "[integration][cli]") {
  auto good = run({keten_binary(), "contracts", "lint", std::string(KETEN_SOURCE_DIR) + "/contracts/migration-chain"});
  CHECK(good.exit_code == 0);
  // Against the example chain's config: every owner and consumer is a configured partner, and every
  // medical field reaching a non-chain party is covered by a projection. Also the compatibility check.
  auto with_config = run({keten_binary(), "contracts", "lint", std::string(KETEN_SOURCE_DIR) + "/contracts/migration-chain",
                          "--config", std::string(KETEN_SOURCE_DIR) + "/examples/migration-chain/keten.toml"});
  INFO(with_config.out + with_config.err);
  CHECK(with_config.exit_code == 0);
  auto check = run({keten_binary(), "contracts", "check", std::string(KETEN_SOURCE_DIR) + "/contracts/migration-chain"});
  CHECK(check.exit_code == 0);
  test_support::TempDir dir;
  std::ofstream(dir / "a.v1.json") << R"({"contract":"b","version":1,"description":"x","owner":"DTV","consumers":[],"schema":{}})";
  std::ofstream(dir / "c.v1.json") << "{not json";
  auto bad = run({keten_binary(), "contracts", "lint", dir.path().string()});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.out, Catch::Contains("a.v1.json") && Catch::Contains("c.v1.json"));
}

// A copy of the built executable `name` (keten, keten-inspect, keten-full) in `dir`.
void copy_built(const std::string& name, const std::filesystem::path& dir) {
  std::filesystem::copy_file(std::filesystem::path(keten_binary()).parent_path() / name, dir / name);
  std::filesystem::permissions(dir / name, std::filesystem::perms::owner_all);
}

TEST_CASE("keten runs the inspector's tools in keten-inspect and every other command in keten-full",
          "[integration][cli][front]") {
  test_support::TempDir alone;
  {
    ServedBroker b;
    auto payload = b.h.dir() / "notice.json";
    std::ofstream(payload) << kValid;
    REQUIRE(run({keten_binary(), "send", "--profile", b.profile("ALPHA"), "--contract", "test.notice", "--case",
                 "9990012345", "--id", "front-1", payload.string()})
                .exit_code == 0);
    b.process->signal(SIGTERM);  // stopped: its store is whole in one file
    REQUIRE(b.process->wait(10s));
    std::filesystem::copy_file(b.h.dir() / "store" / "keten.db", alone / "keten.db");
  }
  copy_built("keten", alone.path());
  const std::string keten = (alone / "keten").string();
  const std::string copy = (alone / "keten.db").string();

  // keten alone runs nothing itself: it names the executable it looked for.
  auto none = run({keten, "log", "verify", "--store", copy});
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, Catch::Contains((alone / "keten-inspect").string() + " not found"));

  // With keten-inspect and without keten-full, keten still verifies, replays and reports on a store.
  copy_built("keten-inspect", alone.path());
  auto verified = run({keten, "log", "verify", "--store", copy});
  INFO(verified.err);
  CHECK(verified.exit_code == 0);
  CHECK_THAT(verified.out, Catch::Contains("intact"));
  auto replayed = run({keten, "--log-level", "warn", "log", "replay", "--store", copy, "--case", "9990012345",
                       "--format", "json"});
  INFO(replayed.err);
  REQUIRE(replayed.exit_code == 0);
  CHECK(nlohmann::json::parse(replayed.out)["events"].size() >= 2);
  auto report = run({keten, "--log-level", "warn", "report", "quality", "--store", copy, "--format", "json"});
  INFO(report.err);
  REQUIRE(report.exit_code == 0);
  CHECK(nlohmann::json::parse(report.out)["totals"]["accepted"] == 1);

  // Any other command needs keten-full, through keten or through keten-inspect run directly.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{keten, "keygen", "--out", (alone / "k").string()},
        std::vector<std::string>{keten, "--help"},
        std::vector<std::string>{keten, "log", "replay", "--store", copy, "--case", "9990012345", "--into", "p/"},
        std::vector<std::string>{keten, "log", "verify", "--store", "postgresql://nobody@127.0.0.1:1/keten"},
        std::vector<std::string>{(alone / "keten-inspect").string(), "serve", "--config", "x.toml"}}) {
    auto r = run(args);
    INFO(args.front() << " " << args[1] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains((alone / "keten-full").string() + " not found"));
  }

  // With it, the same command line runs there, in the same process.
  copy_built("keten-full", alone.path());
  auto help = run({keten, "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("serve") && Catch::Contains("adapter") && Catch::Contains("log"));
}

TEST_CASE("keten loads libc alone and keten-inspect none of the network libraries: they are keten-full's; "
          "keten-inspect has SQLite, libsodium and libcrypto linked in",
          "[integration][cli][front]") {
  const auto dir = std::filesystem::path(keten_binary()).parent_path();
  auto keten = run({"/usr/bin/readelf", "-d", keten_binary()});
  REQUIRE(keten.exit_code == 0);
  auto inspect = run({"/usr/bin/readelf", "-d", (dir / "keten-inspect").string()});
  REQUIRE(inspect.exit_code == 0);
  auto full = run({"/usr/bin/readelf", "-d", (dir / "keten-full").string()});
  REQUIRE(full.exit_code == 0);
  CHECK_THAT(keten.out, Catch::Contains("libc.so"));
  CHECK_THAT(keten.out, !Catch::Contains("libsqlite3") && !Catch::Contains("libsodium"));
  for (const char* library : {"libsqlite3", "libsodium", "libcrypto", "libmimalloc"}) {
    INFO(library);
    CHECK_THAT(inspect.out, !Catch::Contains(library));
  }
  CHECK_THAT(full.out, Catch::Contains("libsqlite3") && Catch::Contains("libsodium") && Catch::Contains("libcrypto"));
  for (const char* library : {"libzmq", "libpq", "libcurl", "libgmime", "libcpp-httplib", "libssl"}) {
    INFO(library);
    CHECK_THAT(keten.out, !Catch::Contains(library));
    CHECK_THAT(inspect.out, !Catch::Contains(library));
    CHECK_THAT(full.out, Catch::Contains(library));
  }
}
