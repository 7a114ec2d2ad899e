// What a broker's store open (StoreOptions::owner) refuses and what it leaves: the store lock and
// its holder, the committed high-water mark, the checks at start on files damaged behind the
// store's back, files that are not stores, the file modes, and per-producer message ids.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "broker/audit/signing.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/store_lock.h"
#include "contracts/digest.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::DbHandle;
using broker::store::LogEvent;
using broker::store::NewMessage;
using broker::store::SqliteStore;
using broker::store::StoreLock;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using test_support::ok;

StoreOptions owner_options(const std::filesystem::path& path) {
  StoreOptions options;
  options.path = path;
  options.owner = true;
  return options;
}

StoreOptions plain_options(const std::filesystem::path& path) {
  StoreOptions options;
  options.path = path;
  return options;
}

LogEvent event(const std::string& message_id) {
  LogEvent e;
  e.at = 1'000;
  e.event = "received";
  e.message_id = message_id;
  e.case_ref = "case-1";
  return e;
}

NewMessage message(const std::string& id, const std::string& sender) {
  NewMessage m;
  m.header.message_id = id;
  m.header.contract = "test.handover";
  m.header.version = 1;
  m.header.case_ref = "case-1";
  m.sender = sender;
  m.payload = R"({"a":")" + std::string(600, 'x') + R"("})";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = {"ALPHA"};
  m.log_seq = 1;
  m.accepted_at = 2'000;
  return m;
}

// Appends `rows` log rows (and as many messages) in one transaction.
void write_rows(SqliteStore& store, int rows, const std::string& prefix = "m-") {
  ok(store.begin());
  for (int i = 0; i < rows; ++i) {
    ok(store.append_log(event(prefix + std::to_string(i))));
    ok(store.insert_message(message(prefix + std::to_string(i), "BRAVO")));
  }
  ok(store.commit());
}

void sql(const std::filesystem::path& path, const std::string& text) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  DbHandle db(raw);
  const int rc = sqlite3_exec(db.get(), text.c_str(), nullptr, nullptr, nullptr);
  INFO(text << " : " << sqlite3_errmsg(db.get()));
  REQUIRE(rc == SQLITE_OK);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::filesystem::path with_suffix(std::filesystem::path path, const char* suffix) {
  path += suffix;
  return path;
}

// The store refused at open: kStorage, naming the file and `cause`.
void refused(const StoreOptions& options, const std::string& cause) {
  auto store = SqliteStore::open(options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains(options.path.string()) && Contains(cause));
}

}  // namespace

TEST_CASE("a message id is the producer's own, taken by another producer, or free", "[store]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(plain_options(dir / "store.db")));
  ok(store.begin());
  ok(store.insert_message(message("h-1", "BRAVO")));
  ok(store.commit());

  auto own = ok(store.find_own_message("BRAVO", "h-1"));
  REQUIRE(own.own.has_value());
  CHECK_FALSE(own.taken);
  CHECK(own.own->recipients == std::vector<std::string>{"ALPHA"});
  CHECK(own.own->accepted_at == 2'000);

  auto other = ok(store.find_own_message("CHARLIE", "h-1"));
  CHECK(other.taken);
  CHECK_FALSE(other.own.has_value());  // nothing of BRAVO's message comes back

  auto free = ok(store.find_own_message("CHARLIE", "h-2"));
  CHECK_FALSE(free.taken);
  CHECK_FALSE(free.own.has_value());
}

TEST_CASE("a second owner of a store is refused naming the holder; plain connections are not",
          "[store][lock]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto first = ok(SqliteStore::open(owner_options(path)));
    auto second = SqliteStore::open(owner_options(path));
    REQUIRE_FALSE(second.ok());
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    CHECK_THAT(second.error().detail, Contains("in use by another broker") &&
                                          Contains("pid " + std::to_string(::getpid())) &&
                                          Contains("host " + std::string(host)) && Contains(" since 20") &&
                                          Contains(StoreLock::lock_path(path).string()));
    auto reader = ok(SqliteStore::open(plain_options(path)));  // tools are not blocked
    CHECK(ok(reader.read_log(1, 10)).empty());
  }
  // Closing the holder releases the lock.
  auto again = ok(SqliteStore::open(owner_options(path)));
}

TEST_CASE("the lock file records the log head after every commit", "[store][lock]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(owner_options(path)));
  write_rows(store, 3);
  const auto head = store.log_head();
  const std::string text = read_file(StoreLock::lock_path(path));
  CHECK(text.rfind("committed 00000000000000000003 " + head.hash + "\n", 0) == 0);
  CHECK_THAT(text, Contains("\npid " + std::to_string(::getpid()) + "\n"));
}

TEST_CASE("the store, its -wal and -shm and the lock file are created 0600 whatever the umask",
          "[store][mode]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  const mode_t old = ::umask(022);
  {
    auto store = ok(SqliteStore::open(owner_options(path)));
    write_rows(store, 1);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(with_suffix(path, "-wal")) == 0600);
    CHECK(mode_of(with_suffix(path, "-shm")) == 0600);
    CHECK(mode_of(StoreLock::lock_path(path)) == 0600);
  }
  {
    const auto tool_path = dir / "other.db";  // a store a tool creates gets the same
    auto store = ok(SqliteStore::open(plain_options(tool_path)));
    write_rows(store, 1);
    CHECK(mode_of(tool_path) == 0600);
    CHECK(mode_of(with_suffix(tool_path, "-wal")) == 0600);
    CHECK(mode_of(with_suffix(tool_path, "-shm")) == 0600);
  }
  ::umask(old);
}

TEST_CASE("an existing empty file is refused, not made into a new store", "[store][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  { std::ofstream touch(path); }
  refused(owner_options(path), "empty (0 bytes)");
  refused(plain_options(path), "empty (0 bytes)");
  CHECK(std::filesystem::file_size(path) == 0);  // left as found
}

TEST_CASE("an SQLite database without Keten's tables is refused, not made into a store", "[store][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "other.db";
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    DbHandle db(raw);
    REQUIRE(sqlite3_exec(db.get(), "PRAGMA user_version = 7", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  REQUIRE(std::filesystem::file_size(path) > 0);
  refused(owner_options(path), "not a Keten store");
}

TEST_CASE("a missing store file with its WAL still there is refused", "[store][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  { std::ofstream(with_suffix(path, "-wal")) << std::string(4096, 'w'); }
  refused(owner_options(path), "write-ahead log");
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a store whose log lost the events the broker committed is refused", "[store][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  std::uint64_t committed = 0;
  {
    auto store = ok(SqliteStore::open(owner_options(path)));
    for (int i = 0; i < 5; ++i) write_rows(store, 1, "m" + std::to_string(i) + "-");  // five blocks
    committed = store.log_head().seq;
  }
  SECTION("blocks removed from the end") {
    sql(path, "DROP TRIGGER log_blocks_no_delete; DELETE FROM log_blocks WHERE first_seq > 3");
    refused(owner_options(path), "the broker had committed up to seq " + std::to_string(committed));
    // Without the lock file and without a signed checkpoint (this store has no signing key), a
    // clean cut cannot be told from a shorter log: the store opens. The documented limit.
    std::filesystem::remove(StoreLock::lock_path(path));
    ok(SqliteStore::open(owner_options(path)));
  }
  SECTION("blocks removed from the end, the lock file removed, a signed checkpoint there") {
    {
      auto signing = owner_options(path);
      signing.signing_seed = std::string(32, 's');
      auto store = ok(SqliteStore::open(signing));  // signs the five events at start
      REQUIRE(ok(store.latest_checkpoint_note()));
    }
    sql(path, "DROP TRIGGER log_blocks_no_delete; DELETE FROM log_blocks WHERE first_seq > 3");
    std::filesystem::remove(StoreLock::lock_path(path));
    refused(owner_options(path), "before the last signed checkpoint");
  }
  SECTION("another store with as many events put in its place") {
    std::filesystem::remove(path);
    std::filesystem::remove(with_suffix(path, "-wal"));
    std::filesystem::remove(with_suffix(path, "-shm"));
    auto other = ok(SqliteStore::open(plain_options(path)));
    write_rows(other, 5, "other-");
    refused(owner_options(path), "are not the ones the broker committed");
  }
}

TEST_CASE("a store's log tail is checked against its last signed checkpoint", "[store][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto signing = owner_options(path);
  signing.signing_seed = std::string(32, 's');
  {
    auto store = ok(SqliteStore::open(signing));
    write_rows(store, 6);  // signed at 6
    write_rows(store, 3, "late-");  // signed at 9
  }
  std::filesystem::remove(StoreLock::lock_path(path));  // the checkpoint alone must tell
  ok(SqliteStore::open(signing));                       // intact
  std::filesystem::remove(StoreLock::lock_path(path));

  SECTION("the log cut back before the checkpoint") {
    sql(path, "DROP TRIGGER log_blocks_no_delete; DELETE FROM log_blocks WHERE first_seq > 6");
    refused(signing, "before the last signed checkpoint");
  }
  SECTION("a signed block altered") {
    sql(path, "DROP TRIGGER log_blocks_no_update; UPDATE log_blocks SET first_at = 0, "
              "events = (SELECT events FROM log_blocks WHERE first_seq = 1) WHERE first_seq = 7;"
              "UPDATE log_blocks SET count = 6 WHERE first_seq = 7");
    refused(signing, "do not match the last signed checkpoint");
  }
  SECTION("a broker's event appended after the checkpoint without the key") {
    {
      auto tool = ok(SqliteStore::open(plain_options(path)));
      write_rows(tool, 1, "forged-");
    }
    refused(signing, "were appended after the last signed checkpoint");
  }
  SECTION("a broker without the signing key, which would append events no checkpoint covers") {
    refused(owner_options(path), "the handover log is signed (the last signed checkpoint (tree size 9)");
    refused(owner_options(path), "this broker has no [broker] signing_key");
    // Refused before it wrote anything: the broker with the key still starts on it.
    auto store = ok(SqliteStore::open(signing));
    CHECK(store.tree_size() == 9);
  }
  SECTION("the checkpoint's signature altered") {
    sql(path, "DROP TRIGGER tree_checkpoints_no_update; UPDATE tree_checkpoints SET note = replace(note, '\n9\n', '\n8\n')");
    refused(signing, "does not verify with this broker's signing key");
  }
}

TEST_CASE("pages overwritten in the middle of a store are found by the check at start", "[store][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(owner_options(path)));
    for (int i = 0; i < 20; ++i) write_rows(store, 20, "b" + std::to_string(i) + "-");
  }
  REQUIRE_FALSE(std::filesystem::exists(with_suffix(path, "-wal")));  // checkpointed on close
  const auto size = std::filesystem::file_size(path);
  REQUIRE(size > 64 * 4096);
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>((size / 4096 / 2) * 4096));
    std::string junk(3 * 4096, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) & 0xff);
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  std::filesystem::remove(StoreLock::lock_path(path));
  // A plain open reads only what it needs and does not notice...
  ok(SqliteStore::open(plain_options(path)));
  // ...the broker's open does...
  refused(owner_options(path), "quick_check");
  // ...unless told to leave it out (keten serve --no-quick-check): then the other checks run,
  // which read the log's newest events; they pass, or, where the overwritten pages held some of
  // the log, refuse naming the damage, never a crash.
  auto without = owner_options(path);
  without.quick_check = false;
  auto opened = SqliteStore::open(without);
  if (!opened) CHECK_THAT(opened.error().detail, Contains("malformed") && Contains("handover log"));
}
