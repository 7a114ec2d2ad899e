// Sealed payloads: the AEAD wrapper (broker/store/seal.h) on its own, then SqliteStore writing and
// reading sealed rows on real SQLite files, including what the raw file holds, tampering, rows
// swapped between messages, a missing or wrong key, the upgrade from schema version 1, and log
// verification without the key.
#include "broker/store/seal.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "contracts/digest.h"
#include "tests/support/file_bytes.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::DbHandle;
using broker::store::NewMessage;
using broker::store::SqliteStore;
using broker::store::StmtHandle;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using test_support::file_bytes;
using test_support::ok;

// A medical value that must never be readable in the file.
constexpr const char* kMedical = "MEDICATION-SECRET-4711";

std::string key_bytes(char fill) { return std::string(broker::store::kPayloadKeyBytes, fill); }

StoreOptions options_for(const std::filesystem::path& path, std::string key, bool read_only = false) {
  StoreOptions options;
  options.path = path;
  options.payload_key = std::move(key);
  options.read_only = read_only;
  return options;
}

NewMessage medical_message(const std::string& message_id, bool seal = true) {
  NewMessage m;
  m.header.message_id = message_id;
  m.header.contract = "health.action-perspective.published";
  m.header.version = 1;
  m.header.case_ref = "9990012345";
  m.sender = "GZA";
  m.payload = std::string(R"({"medication_to_carry":")") + kMedical + R"(","id":")" + message_id + "\"}";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = {"DTV"};
  m.accepted_at = 1'000;
  m.seal = seal;
  return m;
}

// Inserts `m` with a delivery to DTV and an "accepted" log row; returns the delivery id.
std::int64_t store_message(SqliteStore& store, const NewMessage& m) {
  ok(store.begin());
  broker::store::LogEvent e;
  e.at = m.accepted_at;
  e.event = "accepted";
  e.message_id = m.header.message_id;
  e.payload_digest = m.payload_digest;
  ok(store.append_log(e));
  const auto seq = ok(store.insert_message(m));
  const auto id = ok(store.insert_delivery(seq, "DTV"));
  ok(store.commit());
  return id;
}

DbHandle raw_open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  DbHandle db(raw);
  REQUIRE(rc == SQLITE_OK);
  return db;
}

void raw_exec_ok(sqlite3* db, const std::string& sql) {
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  INFO(sql << " : " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
}

// The payload column of every message, as raw bytes, in seq order.
std::vector<std::string> raw_payloads(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT payload FROM messages ORDER BY seq", -1, &raw, nullptr) == SQLITE_OK);
  StmtHandle stmt(raw);
  std::vector<std::string> out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt.get(), 0));
    out.emplace_back(data == nullptr ? "" : std::string(data, sqlite3_column_bytes(stmt.get(), 0)));
  }
  return out;
}

}  // namespace

TEST_CASE("seal and open round-trip, each seal with a fresh nonce", "[store][seal]") {
  const std::string key = key_bytes('k');
  const std::string ad = broker::store::payload_associated_data("m-1", std::string(64, 'a'));
  for (const std::string& plain : {std::string(), std::string("{}"), std::string(100'000, 'x')}) {
    const auto a = ok(broker::store::seal_payload(key, plain, ad));
    const auto b = ok(broker::store::seal_payload(key, plain, ad));
    CHECK(a.size() == plain.size() + broker::store::kSealOverheadBytes);
    CHECK(a != b);  // random nonce
    CHECK(ok(broker::store::open_payload(key, a, ad)) == plain);
    CHECK(ok(broker::store::open_payload(key, b, ad)) == plain);
  }
}

namespace {

std::string nonce_of(const std::string& sealed) { return sealed.substr(0, 24); }

}  // namespace

TEST_CASE("no two seals share a nonce: not in one thread, not across threads, not in a forked child", "[store][seal]") {
  const std::string key = key_bytes('k');
  const std::string ad = broker::store::payload_associated_data("m-1", std::string(64, 'a'));
  auto seal_n = [&](int n) {
    std::vector<std::string> nonces;
    for (int i = 0; i < n; ++i) nonces.push_back(nonce_of(ok(broker::store::seal_payload(key, "{}", ad))));
    return nonces;
  };
  std::set<std::string> seen;
  auto add_all = [&](const std::vector<std::string>& nonces) {
    for (const auto& n : nonces) CHECK(seen.insert(n).second);
  };
  const auto here = seal_n(1000);
  add_all(here);
  // Within a thread: one prefix, then a count.
  CHECK(here.front().substr(0, 16) == here.back().substr(0, 16));
  std::vector<std::string> other;
  std::thread([&] { other = seal_n(1000); }).join();
  add_all(other);
  CHECK(other.front().substr(0, 16) != here.front().substr(0, 16));

  // A forked child continues from this thread's state: it must not repeat what the parent seals next.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    std::string out;
    for (int i = 0; i < 100; ++i) {
      auto sealed = broker::store::seal_payload(key, "{}", ad);
      if (!sealed) ::_exit(2);
      out += nonce_of(*sealed);
    }
    const bool written = ::write(fds[1], out.data(), out.size()) == static_cast<ssize_t>(out.size());
    ::_exit(written ? 0 : 1);
  }
  ::close(fds[1]);
  std::string from_child;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    from_child.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(from_child.size() == 100 * 24);
  std::vector<std::string> child_nonces;
  for (std::size_t at = 0; at < from_child.size(); at += 24) child_nonces.push_back(from_child.substr(at, 24));
  add_all(child_nonces);
  add_all(seal_n(100));  // the parent's next seals
  CHECK(seen.size() == 2200);
}

TEST_CASE("a sealed payload does not open when anything about it changed", "[store][seal]") {
  const std::string key = key_bytes('k');
  const std::string ad = broker::store::payload_associated_data("m-1", std::string(64, 'a'));
  const std::string sealed = ok(broker::store::seal_payload(key, R"({"dose":"2x daily"})", ad));

  struct Case {
    const char* what;
    std::string key, sealed, ad;
  };
  std::string flipped_nonce = sealed, flipped_body = sealed, flipped_tag = sealed;
  flipped_nonce[0] ^= 1;
  flipped_body[30] ^= 1;
  flipped_tag[sealed.size() - 1] ^= 1;
  const std::vector<Case> cases = {
      {"wrong key", key_bytes('j'), sealed, ad},
      {"nonce altered", key, flipped_nonce, ad},
      {"ciphertext altered", key, flipped_body, ad},
      {"tag altered", key, flipped_tag, ad},
      {"truncated", key, sealed.substr(0, sealed.size() - 1), ad},
      {"shorter than nonce and tag", key, sealed.substr(0, 39), ad},
      {"empty", key, "", ad},
      {"other message id (row swap)", key, sealed, broker::store::payload_associated_data("m-2", std::string(64, 'a'))},
      {"other digest", key, sealed, broker::store::payload_associated_data("m-1", std::string(64, 'b'))},
      {"ids re-split", key, sealed, broker::store::payload_associated_data("m-1a", std::string(63, 'a'))},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto r = broker::store::open_payload(c.key, c.sealed, c.ad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kStorage);
  }
}

TEST_CASE("a payload key has 32 bytes and is read from 64 hex characters", "[store][seal]") {
  const std::string hex = broker::store::generate_payload_key_hex();
  REQUIRE(hex.size() == 64);
  CHECK(hex != broker::store::generate_payload_key_hex());
  CHECK(ok(broker::store::payload_key_from_hex(hex)).size() == 32);
  for (const std::string& bad : {std::string(), std::string(62, 'a'), std::string(66, 'a'), std::string(64, 'g')}) {
    INFO(bad);
    const auto r = broker::store::payload_key_from_hex(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kConfig);
    CHECK_THAT(r.error().detail, Contains("64 hex characters"));
  }
  const auto short_key = broker::store::seal_payload("short", "x", "");
  REQUIRE_FALSE(short_key.ok());
  CHECK_THAT(short_key.error().detail, Contains("32 bytes"));
}

TEST_CASE("a sealed message reads back in clear through every read path", "[store][seal]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(options_for(dir / "store.db", key_bytes('k'))));
  const auto m = medical_message("m-1");
  const auto delivery_id = store_message(store, m);

  const auto pending = ok(store.next_pending("DTV", 10));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].payload == m.payload);
  const auto outbound = ok(store.find_outbound(delivery_id));
  REQUIRE(outbound.has_value());
  CHECK(outbound->payload == m.payload);
  const auto content = ok(store.find_message_content("m-1"));
  REQUIRE(content.has_value());
  CHECK(content->payload == m.payload);
  CHECK(content->payload_digest == m.payload_digest);
}

TEST_CASE("the raw store file holds no medical value in clear", "[store][seal]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
    store_message(store, medical_message("m-1"));
    // With a payload key every payload is sealed (under its case key), asked for or not.
    store_message(store, medical_message("m-2", /*seal=*/false));
  }
  {
    // Control: without a payload key a message not to be sealed is stored as it came.
    auto plain = ok(SqliteStore::open(options_for(dir / "plain.db", "")));
    store_message(plain, medical_message("m-3", /*seal=*/false));
  }
  const std::string plain_bytes = file_bytes(dir / "plain.db") + file_bytes(dir.path().string() + "/plain.db-wal");
  CHECK(plain_bytes.find(kMedical) != std::string::npos);
  auto db = raw_open(path);
  const auto payloads = raw_payloads(db.get());
  REQUIRE(payloads.size() == 2);
  for (const auto& p : payloads) {
    CHECK(p.find(kMedical) == std::string::npos);
    CHECK(p.find("medication_to_carry") == std::string::npos);
  }
  db.reset();
  // Byte for byte, the file (and any WAL left) does not contain the value.
  std::string bytes = file_bytes(path);
  if (std::filesystem::exists(path.string() + "-wal")) bytes += file_bytes(path.string() + "-wal");
  const auto first = bytes.find("m-1\"}");
  const auto count_value = [&] {
    std::size_t n = 0;
    for (auto at = bytes.find(kMedical); at != std::string::npos; at = bytes.find(kMedical, at + 1)) ++n;
    return n;
  }();
  CHECK(first == std::string::npos);  // the sealed row's plaintext tail is nowhere in the file
  CHECK(count_value == 0);
}

TEST_CASE("a sealed row is refused with a wrong key or without a key, naming the message", "[store][seal]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  std::int64_t delivery_id = 0;
  {
    auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
    delivery_id = store_message(store, medical_message("m-1"));
    store_message(store, medical_message("plain-1", /*seal=*/false));
  }
  // A wrong key is found when the store opens (the key check the first open left in meta).
  const auto wrong = SqliteStore::open(options_for(path, key_bytes('j')));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::kStorage);
  CHECK_THAT(wrong.error().detail, Contains("payload_key does not open") && Contains("payload_key_check"));
  // Without a key the store opens (the log tools need no key) and every sealed read says why it
  // cannot give the payload, row by row, so one unreadable row does not stop the others.
  auto store = ok(SqliteStore::open(options_for(path, "")));
  const auto content = ok(store.find_message_content("m-1"));
  REQUIRE(content.has_value());
  CHECK(content->payload.empty());
  CHECK_THAT(content->unreadable, Contains("m-1") && Contains("no payload key"));
  const auto outbound = ok(store.find_outbound(delivery_id));
  REQUIRE(outbound.has_value());
  CHECK(outbound->payload.empty());
  CHECK_THAT(outbound->unreadable, Contains("m-1"));
  const auto pending = ok(store.next_pending("DTV", 10));
  REQUIRE(pending.size() == 2);
  CHECK_FALSE(pending[0].unreadable.empty());
  CHECK_FALSE(pending[1].unreadable.empty());  // sealed too: with a key every payload is
  // The header of the delivery (what a log row needs) reads without the key: nothing is decrypted.
  const auto header = ok(store.find_delivery_header(delivery_id));
  REQUIRE(header.has_value());
  CHECK(header->header.message_id == "m-1");
  CHECK(header->recipient == "DTV");
  CHECK(header->payload.empty());
  CHECK(header->unreadable.empty());
  CHECK_FALSE(header->payload_digest.empty());
  // The message not asked to be sealed was sealed as well (its case's key): it needs the key too.
  const auto plain = ok(store.find_message_content("plain-1"));
  REQUIRE(plain.has_value());
  CHECK(plain->payload.empty());
  CHECK_THAT(plain->unreadable, Contains("no payload key"));
}

TEST_CASE("a store without a key check is checked against its newest sealed row once, then gets one", "[store][seal]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
    store_message(store, medical_message("m-1"));
  }
  {
    // What a store from before the key check looks like.
    auto db = raw_open(path);
    raw_exec_ok(db.get(), "DELETE FROM meta WHERE key = 'payload_key_check'");
  }
  const auto wrong = SqliteStore::open(options_for(path, key_bytes('j')));
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error().detail, Contains("newest sealed payload") && Contains("m-1"));
  ok(SqliteStore::open(options_for(path, key_bytes('k'))));
  // The right key left its check; the wrong one is now refused without reading any message.
  {
    auto db = raw_open(path);
    raw_exec_ok(db.get(), "UPDATE messages SET payload = x'00'");  // no sealed row would open now
  }
  const auto again = SqliteStore::open(options_for(path, key_bytes('j')));
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().detail, Contains("payload_key_check"));
  ok(SqliteStore::open(options_for(path, key_bytes('k'))));
}

TEST_CASE("a sealed payload moved to another row or altered in the file does not open", "[store][seal]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
    store_message(store, medical_message("m-1"));
    store_message(store, medical_message("m-2"));
    store_message(store, medical_message("m-3"));  // untouched: the store still opens
  }
  const std::string attack =
      GENERATE(as<std::string>{},
               // swap the two sealed payloads between the rows
               "UPDATE messages SET payload = CASE message_id WHEN 'm-1' THEN (SELECT payload FROM messages WHERE "
               "message_id = 'm-2') ELSE (SELECT payload FROM messages WHERE message_id = 'm-1') END "
               "WHERE message_id IN ('m-1', 'm-2')",
               // flip one byte in the middle of m-1's ciphertext
               "UPDATE messages SET payload = substr(payload, 1, 30) || "
               "CASE WHEN substr(payload, 31, 1) = x'00' THEN x'01' ELSE x'00' END || substr(payload, 32) "
               "WHERE message_id = 'm-1'",
               // point m-1 at another digest (which the associated data binds)
               "UPDATE messages SET payload_digest = (SELECT payload_digest FROM messages WHERE message_id = 'm-2') "
               "WHERE message_id = 'm-1'");
  INFO(attack);
  {
    auto db = raw_open(path);
    raw_exec_ok(db.get(), attack);
  }
  auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
  const auto content = ok(store.find_message_content("m-1"));
  REQUIRE(content.has_value());
  CHECK(content->payload.empty());
  CHECK_THAT(content->unreadable, Contains("m-1") && Contains("does not open"));
}

TEST_CASE("a message to be sealed is refused when the store has no key", "[store][seal]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(options_for(dir / "store.db", "")));
  ok(store.begin());
  const auto seq = store.insert_message(medical_message("m-1"));
  REQUIRE_FALSE(seq.ok());
  CHECK(seq.error().code == ErrorCode::kStorage);
  CHECK_THAT(seq.error().detail, Contains("m-1") && Contains("no payload key"));
  store.rollback();
  CHECK_FALSE(ok(store.find_message("m-1")).has_value());
}

TEST_CASE("a store refuses a payload key of the wrong size", "[store][seal]") {
  test_support::TempDir dir;
  const auto store = SqliteStore::open(options_for(dir / "store.db", "0123456789abcdef"));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains("32 bytes"));
}

TEST_CASE("the handover log of a store with sealed payloads verifies without the key", "[store][seal][audit]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
    store_message(store, medical_message("m-1"));
    store_message(store, medical_message("m-2"));
  }
  auto store = ok(SqliteStore::open(options_for(path, "", /*read_only=*/true)));
  const auto data = ok(store.read_log_data());
  REQUIRE(data.rows.size() == 2);
  CHECK(data.rows[0].payload_digest == medical_message("m-1").payload_digest);
  const auto report = broker::audit::verify_log(data);
  CHECK(report.ok);
}

TEST_CASE("a schema version 1 store is upgraded on a read-write open and refused read-only", "[store][seal]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(options_for(path, "")));
    store_message(store, medical_message("old-1", /*seal=*/false));
  }
  {
    // Make it what version 1 wrote: no sealed column.
    auto db = raw_open(path);
    raw_exec_ok(db.get(), "ALTER TABLE messages DROP COLUMN sealed");
    raw_exec_ok(db.get(), "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
  }
  const auto read_only = SqliteStore::open(options_for(path, "", /*read_only=*/true));
  REQUIRE_FALSE(read_only.ok());
  CHECK_THAT(read_only.error().detail,
             Contains("schema version 1") && Contains("start the broker (keten serve) on it once"));

  {
    auto store = ok(SqliteStore::open(options_for(path, key_bytes('k'))));
    const auto old = ok(store.find_message_content("old-1"));
    REQUIRE(old.has_value());
    CHECK(old->payload == medical_message("old-1").payload);
    store_message(store, medical_message("new-1"));
    CHECK(ok(store.find_message_content("new-1"))->payload == medical_message("new-1").payload);
  }
  auto db = raw_open(path);
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db.get(), "SELECT value FROM meta WHERE key = 'schema_version'", -1, &raw, nullptr) ==
          SQLITE_OK);
  StmtHandle stmt(raw);
  REQUIRE(sqlite3_step(stmt.get()) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0))) == "5");
}
