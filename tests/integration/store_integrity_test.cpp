// The real `keten serve` on store files damaged by the test: each refused with exit 2 and one
// message naming the file and the cause, a healthy store still served; one broker per store; the
// store's files private to its owner.
#include <sqlite3.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "broker/audit/signing.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using test_support::BrokerHarness;
using test_support::ChildProcess;
using test_support::keten_binary;

// A harness's files for the real binary, with a signing key (checkpoints) when `signed_log`.
struct ServeSetup {
  BrokerHarness h;
  std::filesystem::path config;
  std::filesystem::path store;

  explicit ServeSetup(bool signed_log = false) {
    config = h.write_files("tcp://127.0.0.1:*");
    store = h.dir() / "store" / "keten.db";
    if (signed_log) {
      std::ifstream in(config);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const std::string key = broker::audit::seed_hex(broker::audit::generate_signing_key());
      text.replace(text.find("[broker]\n"), 9, "[broker]\nsigning_key = \"" + key + "\"\n");
      std::ofstream(config, std::ios::trunc) << text;
    }
  }
  std::vector<std::string> serve() const { return {keten_binary(), "serve", "--config", config.string()}; }
};

// Reads the "listening <endpoint>" line of a started broker.
std::string endpoint_of(ChildProcess& broker) {
  auto line = broker.read_line(60s);
  REQUIRE(line);
  REQUIRE(line->rfind("listening ", 0) == 0);
  return line->substr(10);
}

// Starts the broker, has ALPHA submit `count` messages (one commit each), then stops it with
// `sig`: SIGTERM is a clean stop (final checkpoint, WAL folded into the file), SIGKILL leaves the
// WAL as it was.
void serve_and_stop(const ServeSetup& s, int count, int sig) {
  ChildProcess broker(s.serve());
  const std::string endpoint = endpoint_of(broker);
  {
    auto alpha = s.h.client("ALPHA", {}, endpoint);
    for (int i = 0; i < count; ++i) {
      auto r = alpha.send(test_support::notice());
      REQUIRE(r);
      REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
    }
  }
  broker.signal(sig);
  const auto code = broker.wait(60s);
  REQUIRE(code);
  CHECK(*code == (sig == SIGKILL ? -SIGKILL : 0));
}

// `keten serve` on a damaged store: exit 2, and stderr names the store file and `cause`.
void refused(const ServeSetup& s, const std::string& cause) {
  auto r = test_support::run(s.serve(), "", 120s);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains(s.store.string()) && Contains(cause));
  CHECK(r.out.find("listening") == std::string::npos);
}

void started(const ServeSetup& s) {
  ChildProcess broker(s.serve());
  endpoint_of(broker);
  broker.signal(SIGTERM);
  CHECK(broker.wait(60s) == 0);
}

void sql(const std::filesystem::path& path, const std::string& statements) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  const int rc = sqlite3_exec(raw, statements.c_str(), nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(raw));
  sqlite3_close(raw);
  REQUIRE(rc == SQLITE_OK);
}

void overwrite(const std::filesystem::path& path, std::uintmax_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.is_open());
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(file.good());
}

std::filesystem::path sibling(const std::filesystem::path& store, const char* suffix) {
  auto path = store;
  path += suffix;
  return path;
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("keten serve starts on a healthy store after a clean stop and after kill -9", "[integration][fault]") {
  ServeSetup s(true);
  serve_and_stop(s, 5, SIGTERM);
  started(s);
  serve_and_stop(s, 5, SIGKILL);
  started(s);
}

TEST_CASE("keten serve refuses a store file truncated to 0 bytes instead of starting a new one",
          "[integration][fault]") {
  ServeSetup s;
  serve_and_stop(s, 5, SIGTERM);
  REQUIRE_FALSE(std::filesystem::exists(sibling(s.store, "-wal")));
  std::filesystem::resize_file(s.store, 0);
  refused(s, "empty (0 bytes)");
  CHECK(std::filesystem::file_size(s.store) == 0);  // no new store was made over it
}

TEST_CASE("keten serve refuses a store with pages overwritten in the middle", "[integration][fault]") {
  ServeSetup s;
  serve_and_stop(s, 150, SIGTERM);
  const auto size = std::filesystem::file_size(s.store);
  REQUIRE(size > 32 * 4096);
  std::string junk(2 * 4096, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 197 + 11) & 0xff);
  overwrite(s.store, (size / 4096 / 2) * 4096, junk);
  refused(s, "quick_check");
}

TEST_CASE("keten serve refuses a store whose WAL lost committed transactions to a changed byte",
          "[integration][fault]") {
  ServeSetup s;
  serve_and_stop(s, 1, SIGTERM);   // the schema is in the file; the WAL is folded in and removed
  serve_and_stop(s, 30, SIGKILL);  // 30 commits left in the WAL
  const auto wal = sibling(s.store, "-wal");
  REQUIRE(std::filesystem::exists(wal));
  // WAL layout (sqlite.org/fileformat.html): a 32-byte header, then frames of a 24-byte header
  // and one page. A byte changed in a middle frame's page breaks the checksum chain there: SQLite
  // drops that frame and every later one, committed or not, without an error.
  constexpr std::uintmax_t kPage = 4096, kFrame = 24 + kPage;
  const auto frames = (std::filesystem::file_size(wal) - 32) / kFrame;
  REQUIRE(frames > 10);
  const std::uintmax_t offset = 32 + (frames / 2) * kFrame + 24 + 100;
  std::string byte(1, '\0');
  {
    std::ifstream in(wal, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(byte.data(), 1);
  }
  byte[0] = static_cast<char>(byte[0] ^ 0x5a);
  overwrite(wal, offset, byte);
  refused(s, "committed transactions are missing");
}

TEST_CASE("keten serve refuses a store whose newest log events were removed", "[integration][fault]") {
  ServeSetup s(true);
  serve_and_stop(s, 10, SIGTERM);  // every commit signed a checkpoint of the tree
  SECTION("the last block and the checkpoints over it removed: the mark tells") {
    sql(s.store, "DROP TRIGGER log_blocks_no_delete; DROP TRIGGER tree_checkpoints_no_delete;"
                 "DELETE FROM log_blocks WHERE first_seq = (SELECT max(first_seq) FROM log_blocks);"
                 "DELETE FROM tree_checkpoints WHERE size > (SELECT max(first_seq + count - 1) FROM log_blocks)");
    refused(s, "the broker had committed up to seq");
  }
  SECTION("the last block removed, the lock file removed too: the checkpoint tells") {
    sql(s.store, "DROP TRIGGER log_blocks_no_delete;"
                 "DELETE FROM log_blocks WHERE first_seq = (SELECT max(first_seq) FROM log_blocks)");
    std::filesystem::remove(sibling(s.store, ".lock"));
    refused(s, "before the last signed checkpoint");
  }
}

TEST_CASE("keten serve without the signing key refuses a signed store and leaves it to start with the key",
          "[integration][fault]") {
  ServeSetup s(true);
  serve_and_stop(s, 3, SIGTERM);
  std::ifstream in(s.config);
  const std::string keyed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const auto line = keyed.find("signing_key = ");
  REQUIRE(line != std::string::npos);
  std::string keyless = keyed;
  keyless.erase(line, keyless.find('\n', line) - line + 1);
  std::ofstream(s.config, std::ios::trunc) << keyless;
  refused(s, "this broker has no [broker] signing_key");
  refused(s, "this broker has no [broker] signing_key");  // the refusal wrote nothing
  std::ofstream(s.config, std::ios::trunc) << keyed;
  started(s);
}

TEST_CASE("a second keten serve on the same store exits 2 naming the holder; read-only tools still run",
          "[integration][fault]") {
  ServeSetup s(true);
  ChildProcess first(s.serve());
  const std::string endpoint = endpoint_of(first);
  {
    auto alpha = s.h.client("ALPHA", {}, endpoint);
    auto r = alpha.send(test_support::notice());
    REQUIRE(r);
    REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
  }

  // Another port: the second broker fails on the store, not on the address.
  auto second = test_support::run(s.serve(), "", 120s);
  INFO("stderr: " << second.err);
  CHECK(second.exit_code == 2);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  CHECK_THAT(second.err, Contains("in use by another broker") && Contains("pid " + std::to_string(first.pid())) &&
                             Contains("host " + std::string(host)) && Contains("since ") &&
                             Contains(s.store.string()));

  auto verify = test_support::run({keten_binary(), "log", "verify", "--store", s.store.string()});
  INFO("verify: " << verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  auto report = test_support::run({keten_binary(), "report", "quality", "--store", s.store.string()});
  INFO("report: " << report.out << report.err);
  CHECK(report.exit_code == 0);

  first.signal(SIGTERM);
  REQUIRE(first.wait(60s) == 0);
  started(s);  // the lock went with its holder
}

TEST_CASE("keten serve creates the store, its -wal and -shm and the lock file 0600", "[integration][fault]") {
  ServeSetup s;
  const mode_t old = ::umask(022);  // the child inherits it
  ChildProcess broker(s.serve());
  ::umask(old);
  const std::string endpoint = endpoint_of(broker);
  auto alpha = s.h.client("ALPHA", {}, endpoint);
  auto r = alpha.send(test_support::notice());
  REQUIRE(r);
  CHECK(mode_of(s.store) == 0600);
  CHECK(mode_of(sibling(s.store, "-wal")) == 0600);
  CHECK(mode_of(sibling(s.store, "-shm")) == 0600);
  CHECK(mode_of(sibling(s.store, ".lock")) == 0600);
  broker.signal(SIGTERM);
  CHECK(broker.wait(60s) == 0);
}
