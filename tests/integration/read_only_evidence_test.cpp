// Read-only evidence: the inspector's tools (`keten log verify|export|replay`, `keten report
// quality`) on a store copy on write-protected media and on an export bundle change no byte and no
// mtime, and say that the read was not recorded; on a writable copy they add their log_read event
// (with the purpose given) and nothing else. Real stores from a broker that ran, the built binary.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test_support::BrokerHarness;
using test_support::notice;
using test_support::RunResult;

const std::string kCase = "9990012345";

// A signing broker that accepted and delivered two notices about kCase, then stopped cleanly (no
// -wal left, the final checkpoint covers every row). Returns the signing key's public half.
std::string played_and_stopped(BrokerHarness& h) {
  auto key = broker::audit::generate_signing_key();
  h.options().signing_key = broker::audit::seed_hex(key);
  h.options().checkpoint_interval = 100ms;
  h.start();
  auto alpha = h.client("ALPHA");
  for (int i = 0; i < 2; ++i) {
    auto receipt = alpha.send(notice(partner::new_message_id(), kCase));
    REQUIRE(receipt);
    REQUIRE(receipt->status == contracts::ReceiptStatus::kAccepted);
  }
  auto bravo = h.client("BRAVO");
  for (int i = 0; i < 2; ++i) {
    auto d = bravo.receive(10s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    REQUIRE(bravo.ack((*d)->delivery_id));
  }
  auto barrier = bravo.send(notice(partner::new_message_id(), "barrier"));  // acks committed before it
  REQUIRE(barrier);
  alpha.close();
  bravo.close();
  h.stop();
  return key.public_hex;
}

// Runs the built keten. As root, as user nobody: root writes through any permission bit, so a
// folder and file without write permission are write-protected media only for another user.
RunResult keten_as_reader(std::vector<std::string> args) {
  std::vector<std::string> argv;
  if (::geteuid() == 0) argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  argv.push_back(test_support::keten_binary());
  argv.push_back("--log-level");
  argv.push_back("warn");
  argv.insert(argv.end(), args.begin(), args.end());
  return test_support::run(argv);
}

RunResult keten(std::vector<std::string> args) {
  std::vector<std::string> argv = {test_support::keten_binary(), "--log-level", "warn"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test_support::run(argv);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file in `dir` with its bytes and mtime (ns).
std::map<std::string, std::pair<std::string, long long>> snapshot(const fs::path& dir) {
  std::map<std::string, std::pair<std::string, long long>> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    struct stat st {};
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    files[entry.path().filename().string()] = {read_file(entry.path()),
                                               st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
  }
  return files;
}

// A folder the reader (nobody, when the test runs as root) can enter but not write, holding
// `files` without write permission. Gives write permission back on destruction, for the clean-up.
class WriteProtectedCopy {
 public:
  explicit WriteProtectedCopy(const std::vector<fs::path>& files) {
    fs::permissions(tmp_.path(), fs::perms(0755));
    for (const auto& f : files) {
      const auto to = dir() / f.filename();
      fs::copy_file(f, to);
      fs::permissions(to, fs::perms(0444));
    }
    fs::permissions(dir(), fs::perms(0555));
  }
  ~WriteProtectedCopy() {
    std::error_code ec;
    fs::permissions(dir(), fs::perms(0755), ec);
  }
  fs::path dir() const { return tmp_.path() / "media"; }
  fs::path store() const { return dir() / "keten.db"; }

 private:
  test_support::TempDir tmp_;
  bool made_ = fs::create_directory(tmp_.path() / "media");
};

// Every table but the log and its sequence, row by row as text: what a read must leave as it was.
std::string tables_but_log(const fs::path& store) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(store.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::string out;
  auto each = [](void* text, int n, char** values, char**) {
    auto& s = *static_cast<std::string*>(text);
    for (int i = 0; i < n; ++i) s += (values[i] != nullptr ? values[i] : "NULL") + std::string("|");
    s += "\n";
    return 0;
  };
  std::vector<std::string> tables;
  sqlite3_exec(
      raw, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('handover_log', 'log_blocks', 'log_case_blocks', 'log_leaves', 'log_node_tiles', 'log_tree_nodes', 'tree_checkpoints', 'sqlite_sequence') ORDER BY name",
      [](void* t, int, char** v, char**) {
        static_cast<std::vector<std::string>*>(t)->push_back(v[0]);
        return 0;
      },
      &tables, nullptr);
  for (const auto& t : tables) {
    out += "== " + t + "\n";
    REQUIRE(sqlite3_exec(raw, ("SELECT * FROM \"" + t + "\"").c_str(), each, &out, nullptr) == SQLITE_OK);
  }
  sqlite3_close(raw);
  return out;
}

broker::audit::LogData read_data(const fs::path& store_path) {
  broker::store::StoreOptions o;
  o.path = store_path;
  o.read_only = true;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  auto data = store->read_log_data();
  REQUIRE(data);
  return std::move(*data);
}

}  // namespace

TEST_CASE("the inspector's tools read a store copy on write-protected media without writing a byte",
          "[integration][audit][read-only]") {
  BrokerHarness h;
  const auto signing_public = played_and_stopped(h);
  const auto source = h.options().store;
  REQUIRE_FALSE(fs::exists(source.string() + "-wal"));
  WriteProtectedCopy media({source});
  const auto before = snapshot(media.dir());
  REQUIRE(before.size() == 1);
  const std::string store = media.store().string();

  auto verify = keten_as_reader({"log", "verify", "--store", store, "--signing-key", signing_public, "--purpose",
                                 "inspection 2025-17"});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK_THAT(verify.out, Contains("intact:"));
  CHECK_THAT(verify.err, Contains("was NOT recorded in " + store) && Contains("write-protected media"));

  for (const std::string format : {"text", "json", "html"}) {
    auto replay = keten_as_reader({"log", "replay", "--store", store, "--case", kCase, "--format", format,
                                   "--signing-key", signing_public, "--purpose", "inspection 2025-17"});
    INFO(format << ": " << replay.out << replay.err);
    CHECK(replay.exit_code == 0);
    CHECK_THAT(replay.out, Contains("BRAVO acknowledged test.notice") || Contains("\"acknowledged\""));
    CHECK_THAT(replay.err, Contains("was NOT recorded"));
  }
  auto fast = keten_as_reader({"log", "replay", "--store", store, "--case", kCase, "--fast"});
  INFO(fast.out << fast.err);
  CHECK(fast.exit_code == 0);
  auto exported = keten_as_reader({"log", "export", "--store", store, "--case", kCase, "--out", "-"});
  INFO(exported.err);
  CHECK(exported.exit_code == 0);
  CHECK_THAT(exported.out, Contains("\"checkpoint\"") || Contains("checkpoint"));
  auto report = keten_as_reader({"report", "quality", "--store", store, "--purpose", "PDCA review"});
  INFO(report.out << report.err);
  CHECK(report.exit_code == 0);
  CHECK_THAT(report.out, Contains("Data-quality report"));
  CHECK_THAT(report.err, Contains("was NOT recorded"));

  // No byte, no mtime, no -wal or -shm beside it.
  CHECK(snapshot(media.dir()) == before);
}

TEST_CASE("a write-protected store copy whose -wal holds rows is refused, not read without them",
          "[integration][audit][read-only]") {
  BrokerHarness h;
  played_and_stopped(h);
  const auto source = h.options().store;
  // A connection that keeps its last commit in the -wal (no checkpoint) while the copy is taken.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(source.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA wal_autocheckpoint=0; INSERT INTO meta (key, value) VALUES ('probe', 'x')", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  const fs::path wal = source.string() + "-wal";
  REQUIRE(fs::file_size(wal) > 0);
  WriteProtectedCopy media({source, wal});
  sqlite3_close(raw);
  const auto before = snapshot(media.dir());

  auto verify = keten_as_reader({"log", "verify", "--store", media.store().string()});
  INFO(verify.out << verify.err);
  if (verify.exit_code == 0) {
    SUCCEED("SQLite read the -wal without a -shm (it may where it can use heap memory for the index)");
  } else {
    CHECK(verify.exit_code == 2);
    CHECK_THAT(verify.err, Contains("holds rows not yet in the main file"));
  }
  CHECK(snapshot(media.dir()) == before);
}

TEST_CASE("on a writable store copy a read adds its log_read event with the purpose, and nothing else",
          "[integration][audit][read-only]") {
  BrokerHarness h;
  const auto signing_public = played_and_stopped(h);
  const auto store = h.options().store;
  const auto rows_before = read_data(store).rows;
  const auto tables_before = tables_but_log(store);
  const auto files_before = snapshot(store.parent_path());

  auto replay = keten({"log", "replay", "--store", store.string(), "--case", kCase, "--partner", "BRAVO",
                       "--purpose", "inspection 2025-17"});
  INFO(replay.out << replay.err);
  CHECK(replay.exit_code == 0);
  CHECK(replay.err.empty());
  auto verify = keten({"log", "verify", "--store", store.string(), "--signing-key", signing_public});
  CHECK(verify.exit_code == 0);
  auto report = keten({"report", "quality", "--store", store.string(), "--purpose", "PDCA week 10"});
  CHECK(report.exit_code == 0);

  const auto after = read_data(store);
  REQUIRE(after.rows.size() == rows_before.size() + 3);
  for (std::size_t i = 0; i < rows_before.size(); ++i) CHECK(after.rows[i].hash == rows_before[i].hash);
  const auto& replay_read = after.rows[rows_before.size()];
  CHECK(replay_read.event == "log_read");
  CHECK(replay_read.case_ref == kCase);
  CHECK(replay_read.recipient == "BRAVO");
  CHECK_THAT(replay_read.detail, Contains("\"purpose\":\"inspection 2025-17\"") && Contains("keten log replay"));
  CHECK_THAT(after.rows[rows_before.size() + 1].detail, Contains("keten log verify") && !Contains("purpose"));
  const auto& report_read = after.rows[rows_before.size() + 2];
  CHECK(report_read.event == "log_read");
  CHECK_THAT(report_read.detail, Contains("keten report quality") && Contains("\"purpose\":\"PDCA week 10\""));
  CHECK(broker::audit::verify_log(after, {signing_public}).ok);
  // Nothing else changed, and no -wal or -shm was left behind.
  CHECK(tables_but_log(store) == tables_before);
  auto files_after = snapshot(store.parent_path());
  std::vector<std::string> names_before, names_after;
  for (const auto& [name, _] : files_before) names_before.push_back(name);
  for (const auto& [name, _] : files_after) names_after.push_back(name);
  CHECK(names_after == names_before);

  // The replay shows who read, why.
  auto shown = keten({"log", "replay", "--store", store.string(), "--case", kCase});
  CHECK_THAT(shown.out, Contains("for inspection 2025-17"));
}

TEST_CASE("a replay of a store path that does not exist is refused and creates nothing",
          "[integration][audit][read-only]") {
  // The replay opens the store for writing (to record its read through the same connection): that
  // open must still never make a new store where the inspector mistyped a path.
  test_support::TempDir dir;
  const fs::path missing = dir / "no-such-store.db";
  auto replay = keten({"log", "replay", "--store", missing.string(), "--case", kCase});
  INFO(replay.out << replay.err);
  CHECK(replay.exit_code == 2);
  CHECK_THAT(replay.err, Contains("store " + missing.string() + " does not exist"));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("reading an export bundle changes nothing and says the read is not recorded",
          "[integration][audit][read-only]") {
  BrokerHarness h;
  const auto signing_public = played_and_stopped(h);
  const auto bundle = h.dir() / "case.jsonl";
  auto exported = keten({"log", "export", "--store", h.options().store.string(), "--case", kCase, "--out",
                         bundle.string(), "--purpose", "handing the case to the inspectorate"});
  REQUIRE(exported.exit_code == 0);
  WriteProtectedCopy media({bundle});
  const auto before = snapshot(media.dir());
  const std::string copy = (media.dir() / "case.jsonl").string();
  auto verify = keten_as_reader({"log", "verify", "--bundle", copy, "--signing-key", signing_public, "--purpose", "x"});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK_THAT(verify.err, Contains("read of bundle " + copy + " is NOT recorded anywhere"));
  auto replay = keten_as_reader({"log", "replay", "--bundle", copy, "--case", kCase, "--signing-key", signing_public});
  CHECK(replay.exit_code == 0);
  CHECK_THAT(replay.out, Contains("BRAVO acknowledged"));
  CHECK(snapshot(media.dir()) == before);
}

TEST_CASE("a store's Merkle tree gives proofs and a case bundle that verify, and tools' reads after it are noted",
          "[integration][audit][v2]") {
  BrokerHarness h;
  const auto signing_public = played_and_stopped(h);
  const std::string store = h.options().store.string();

  auto verify = keten({"log", "verify", "--store", store, "--signing-key", signing_public});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  // The broker signs only tree checkpoints (no schema-4 chain line before the tree's).
  CHECK_THAT(verify.out, StartsWith("intact: ") && Contains(" events, root ") && Contains("signed by keten/"));

  auto prove = keten({"log", "prove", "--store", store, "--event", "2"});
  INFO(prove.out << prove.err);
  CHECK(prove.exit_code == 0);
  CHECK_THAT(prove.out, Contains("\"leaf_index\": 1") && Contains("\"proof\"") && Contains("\"checkpoint\": \"keten/"));

  auto consistency = keten({"log", "consistency", "--store", store, "--from", "1", "--to", "3"});
  INFO(consistency.out << consistency.err);
  CHECK(consistency.exit_code == 0);
  CHECK_THAT(consistency.out, Contains("\"from\": 1") && Contains("\"to\": 3"));
  auto beyond = keten({"log", "consistency", "--store", store, "--from", "1", "--to", "100000"});
  CHECK(beyond.exit_code == 1);

  test_support::TempDir out;
  const std::string bundle = (out.path() / "case.jsonl").string();
  auto exported = keten({"log", "export", "--store", store, "--tree", "--case", kCase, "--out", bundle});
  INFO(exported.out << exported.err);
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.err, Contains("events of case " + kCase + " with proofs against one checkpoint"));
  auto offline = keten({"log", "verify", "--bundle", bundle, "--signing-key", signing_public});
  INFO(offline.out << offline.err);
  CHECK(offline.exit_code == 0);
  // One event of the case changed in the bundle (an 'A' of its base64 made a 'C', still base64,
  // well before the end of the event): not intact, exit 1.
  std::string text = read_file(bundle);
  const auto at = text.find("\"event\":\"");
  REQUIRE(at != std::string::npos);
  const auto letter = text.find('A', at + 40);
  REQUIRE(letter != std::string::npos);
  REQUIRE(letter < text.find('"', at + 9) - 8);
  text[letter] = 'C';
  std::ofstream(bundle, std::ios::binary | std::ios::trunc) << text;
  auto forged = keten({"log", "verify", "--bundle", bundle, "--signing-key", signing_public});
  INFO(forged.out << forged.err);
  CHECK(forged.exit_code == 1);
  CHECK_THAT(forged.out, Contains("NOT INTACT"));

  // The verify and export above recorded their reads after the broker's last checkpoint: noted.
  auto again = keten({"log", "verify", "--store", store, "--signing-key", signing_public});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Contains("are reads or resends tools recorded after the latest checkpoint"));
}
