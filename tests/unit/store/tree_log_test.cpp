// The handover log of schema 5 in the file: one block per transaction, the case index, the
// stored tree nodes, a signed checkpoint per commit; proofs from the stored nodes against an
// in-memory tree; the checks at start on files altered behind the store's back; the conversion of
// a schema-4 file; corrupt blocks.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/events/codec.h"
#include "broker/events/legacy.h"
#include "broker/store/event_block.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/store_lock.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/proof.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/audit/removal_case.h"
#include "tests/unit/store/schema4_file.h"

namespace {

namespace events = broker::events;
namespace tlog = broker::tlog;
using broker::store::SqliteStore;
using broker::store::StoreLock;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;
using test_support::ok;

const std::string kSeed(32, 'k');
const std::string kOtherSeed(32, 'o');

StoreOptions plain(const std::filesystem::path& path, std::string seed = "") {
  StoreOptions o;
  o.path = path;
  o.sync_full = false;
  o.signing_seed = std::move(seed);
  return o;
}
StoreOptions owner(const std::filesystem::path& path, std::string seed = kSeed) {
  auto o = plain(path, std::move(seed));
  o.owner = true;
  o.quick_check = false;
  return o;
}

events::Event event(std::uint64_t n, std::string case_ref = "V-1") {
  events::Event e;
  e.at = 1'000 + static_cast<contracts::Millis>(n);
  e.message_id = "m-" + std::to_string(n);
  e.case_ref = std::move(case_ref);
  e.sender = "DTV";
  e.recipient = "KMAR";
  e.delivery_id = static_cast<std::int64_t>(n);
  e.record = events::Delivered{static_cast<std::uint32_t>(n % 7)};
  return e;
}

// `count` events in one transaction; the tree that holds the same leaves gets them too.
void append(SqliteStore& store, tlog::MemoryTree& mirror, std::uint64_t from, std::uint64_t count,
            const std::string& case_ref = "V-1") {
  ok(store.begin());
  for (std::uint64_t n = from; n < from + count; ++n) {
    auto e = event(n, case_ref);
    mirror.append(events::encode_event(e));
    CHECK(ok(store.append_event(e)) == mirror.size());
  }
  ok(store.commit());
}

void sql(const std::filesystem::path& path, const std::string& text) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  const std::string all =
      "DROP TRIGGER IF EXISTS log_blocks_no_update; DROP TRIGGER IF EXISTS log_blocks_no_delete;"
      "DROP TRIGGER IF EXISTS tree_checkpoints_no_update; DROP TRIGGER IF EXISTS tree_checkpoints_no_delete;" + text;
  INFO(text << " : " << sqlite3_errmsg(db.get()));
  REQUIRE(sqlite3_exec(db.get(), all.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

std::vector<std::string> column(const std::filesystem::path& path, const std::string& text) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  sqlite3_stmt* st = nullptr;
  INFO(text);
  REQUIRE(sqlite3_prepare_v2(db.get(), text.c_str(), -1, &st, nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(st);
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(st, 0));
    out.emplace_back(data == nullptr ? "" : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(st, 0))));
  }
  return out;
}

// Replaces the block that starts at `first_seq` with `events` (a careful forger's block).
void replace_block(const std::filesystem::path& path, std::uint64_t first_seq, const std::vector<events::Event>& list) {
  std::string blob;
  for (const auto& e : list) broker::store::append_to_block(blob, events::encode_event(e));
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  REQUIRE(sqlite3_exec(db.get(), "DROP TRIGGER IF EXISTS log_blocks_no_update", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db.get(), "UPDATE log_blocks SET events = ?, count = ? WHERE first_seq = ?", -1, &st,
                             nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(st);
  sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(list.size()));
  sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(first_seq));
  REQUIRE(sqlite3_step(st) == SQLITE_DONE);
  REQUIRE(sqlite3_changes(db.get()) == 1);
}

std::string refusal(const StoreOptions& options) {
  auto store = SqliteStore::open(options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == contracts::ErrorCode::kStorage);
  return store.error().detail;
}

tlog::Checkpoint opened(const std::string& note, const SqliteStore& store) {
  return ok(tlog::open_checkpoint(note, *store.checkpoint_verifier()));
}

}  // namespace

TEST_CASE("one transaction's events are blocks of at most 32 KiB, indexed by case, with its complete tiles stored",
          "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(plain(path)));
  tlog::MemoryTree mirror;
  ok(store.begin());
  for (std::uint64_t n = 1; n <= 600; ++n) {
    auto e = event(n, n % 2 == 0 ? "V-EVEN" : "V-ODD");
    mirror.append(events::encode_event(e));
    ok(store.append_event(e));
  }
  ok(store.commit());
  append(store, mirror, 601, 3, "V-LATE");

  // The first transaction's 600 events fill blocks in order, each as many as fit in 32 KiB (with
  // their 4-byte lengths); the second's 3 are one block.
  std::vector<std::string> blocks, case_rows;
  std::uint64_t first = 1;
  while (first <= 600) {
    std::uint64_t last = first;
    std::size_t bytes = events::encode_event(event(first, first % 2 == 0 ? "V-EVEN" : "V-ODD")).size() + 4;
    while (last < 600) {
      const std::size_t next = events::encode_event(event(last + 1, (last + 1) % 2 == 0 ? "V-EVEN" : "V-ODD")).size() + 4;
      if (bytes + next > 32 * 1024) break;
      bytes += next;
      ++last;
    }
    blocks.push_back(std::to_string(first) + " " + std::to_string(last - first + 1) + " " +
                     std::to_string(1000 + first) + " " + std::to_string(1000 + last));
    case_rows.push_back("V-EVEN " + std::to_string(first));
    case_rows.push_back("V-ODD " + std::to_string(first));
    first = last + 1;
  }
  REQUIRE(blocks.size() >= 2);  // the events are about 150 bytes: 600 do not fit in one block
  blocks.push_back("601 3 1601 1603");
  case_rows.push_back("V-LATE 601");
  std::sort(case_rows.begin(), case_rows.end());
  CHECK(column(path, "SELECT first_seq || ' ' || count || ' ' || first_at || ' ' || last_at FROM log_blocks "
                     "ORDER BY first_seq") == blocks);
  CHECK(column(path, "SELECT max(length(events)) <= 32768 FROM log_blocks") == std::vector<std::string>{"1"});
  CHECK(column(path, "SELECT case_ref || ' ' || first_seq FROM log_case_blocks ORDER BY case_ref, first_seq") ==
        case_rows);
  // 603 events: two complete 256-event tiles, so two level-8 nodes and nothing else.
  CHECK(column(path, "SELECT level || ' ' || idx FROM log_tree_nodes ORDER BY level, idx") ==
        std::vector<std::string>{"8 0", "8 1"});
  const auto nodes = column(path, "SELECT hash FROM log_tree_nodes ORDER BY idx");
  auto mirror_reader = mirror.reader();
  for (std::uint64_t i = 0; i < 2; ++i) {
    const auto h = ok(mirror_reader(8, i));
    CHECK(nodes[i] == std::string(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  // The block's bytes are the events' canonical encodings, each after its 4-byte length.
  const auto blob = column(path, "SELECT events FROM log_blocks WHERE first_seq = 601").front();
  const auto parts = ok(broker::store::split_block(601, 3, blob));
  for (std::uint64_t i = 0; i < 3; ++i) CHECK(parts[i] == events::encode_event(event(601 + i, "V-LATE")));
  CHECK(static_cast<unsigned char>(blob[3]) == parts[0].size());

  const auto odd = ok(store.read_case_events("V-ODD"));
  REQUIRE(odd.size() == 300);
  CHECK(odd.front().seq == 1);
  CHECK(odd.back().seq == 599);
  CHECK(odd[5].event == event(11, "V-ODD"));
  const auto some = ok(store.read_events(599, 3));
  REQUIRE(some.size() == 3);
  CHECK(some[2].seq == 601);
  CHECK(some[2].event == event(601, "V-LATE"));
  CHECK(store.tree_size() == 603);
  CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
}

TEST_CASE("proofs from the stored nodes are the in-memory tree's and verify", "[store][tlog]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(plain(dir / "store.db")));
  tlog::MemoryTree mirror;
  // Blocks of uneven sizes, so tiles and blocks do not line up.
  std::uint64_t n = 1;
  for (std::uint64_t size : {1, 2, 5, 250, 7, 300, 1000}) {
    append(store, mirror, n, size);
    n += size;
  }
  const std::uint64_t total = mirror.size();
  auto reader = store.tree_reader();
  auto mirror_reader = mirror.reader();
  for (std::uint64_t size : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{256}, std::uint64_t{257},
                             std::uint64_t{1000}, total}) {
    const auto root = ok(mirror.root_at(size));
    CHECK(ok(tlog::range_root(0, size, reader)) == root);
    for (std::uint64_t index : {std::uint64_t{0}, size / 2, size - 1}) {
      const auto proof = ok(tlog::inclusion_proof(index, size, reader));
      CHECK(proof == ok(tlog::inclusion_proof(index, size, mirror_reader)));
      const auto leaf = tlog::leaf_hash(events::encode_event(event(index + 1)));
      ok(tlog::verify_inclusion(index, size, leaf, proof, root));
    }
    for (std::uint64_t m : {std::uint64_t{1}, size / 3 + 1, size}) {
      if (m > size) continue;
      const auto proof = ok(tlog::consistency_proof(m, size, reader));
      ok(tlog::verify_consistency(m, size, ok(mirror.root_at(m)), root, proof));
    }
  }
}

TEST_CASE("the tree is restored at reopen from the stored nodes and the tail, and grows from there",
          "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  {
    auto store = ok(SqliteStore::open(plain(path)));
    append(store, mirror, 1, 70'000);  // a level-16 node too
    append(store, mirror, 70'001, 33);
  }
  CHECK(column(path, "SELECT count(*) FROM log_tree_nodes WHERE level = 16") == std::vector<std::string>{"1"});
  auto store = ok(SqliteStore::open(plain(path)));
  CHECK(store.tree_size() == 70'033);
  CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
  append(store, mirror, 70'034, 500);
  CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
  const auto proof = ok(tlog::inclusion_proof(12'345, mirror.size(), store.tree_reader()));
  ok(tlog::verify_inclusion(12'345, mirror.size(), tlog::leaf_hash(events::encode_event(event(12'346))), proof,
                            mirror.root()));
}

TEST_CASE("every commit that appended signs one checkpoint, consistent with the one before", "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(plain(path, kSeed)));
  REQUIRE(store.checkpoint_verifier());
  CHECK_THAT(store.log_origin(), Catch::Matchers::StartsWith("keten/"));
  CHECK(store.log_origin().size() == 6 + 16);
  CHECK_FALSE(ok(store.latest_checkpoint_note()));
  tlog::MemoryTree mirror;
  append(store, mirror, 1, 3);
  append(store, mirror, 4, 300);
  ok(store.begin());  // nothing appended: nothing signed
  ok(store.commit());
  ok(store.append_event(event(304)));  // outside a transaction: committed and signed at once
  mirror.append(events::encode_event(event(304)));

  const auto notes = ok(store.read_tree_checkpoints());
  REQUIRE(notes.size() == 3);
  CHECK(*ok(store.latest_checkpoint_note()) == notes.back());
  std::vector<tlog::Checkpoint> cps;
  for (const auto& note : notes) cps.push_back(opened(note, store));
  CHECK(cps[0].size == 3);
  CHECK(cps[1].size == 303);
  CHECK(cps[2].size == 304);
  CHECK(cps[2].root == mirror.root());
  CHECK(cps[0].origin == store.log_origin());
  for (std::size_t i = 1; i < cps.size(); ++i) {
    const auto proof = ok(tlog::consistency_proof(cps[i - 1].size, cps[i].size, store.tree_reader()));
    ok(tlog::verify_consistency(cps[i - 1].size, cps[i].size, cps[i - 1].root, cps[i].root, proof));
  }
  // The origin stays with the store; a store without the key never signs.
  const auto origin = store.log_origin();
  auto unsigned_store = ok(SqliteStore::open(plain(path)));
  CHECK(unsigned_store.log_origin() == origin);
  CHECK_FALSE(unsigned_store.checkpoint_verifier());
  ok(unsigned_store.append_event(event(305)));
  CHECK(ok(unsigned_store.read_tree_checkpoints()).size() == 3);
}

TEST_CASE("an extension line goes into the checkpoint its transaction's commit signs, and no other",
          "[store][tlog]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(plain(dir / "store.db", kSeed)));
  tlog::MemoryTree mirror;
  ok(store.begin());
  store.extend_next_checkpoint("keten-receipts 2 line-one");
  ok(store.append_event(event(1)));
  mirror.append(events::encode_event(event(1)));
  ok(store.commit());
  CHECK(opened(*ok(store.latest_checkpoint_note()), store).extensions ==
        std::vector<std::string>{"keten-receipts 2 line-one"});
  ok(store.begin());  // rolled back: its line is forgotten with it
  store.extend_next_checkpoint("keten-receipts 1 rolled-back");
  ok(store.append_event(event(2)));
  store.rollback();
  ok(store.begin());  // committed without appending: nothing signed, the line forgotten
  store.extend_next_checkpoint("keten-receipts 1 unsigned");
  ok(store.commit());
  append(store, mirror, 2, 1);
  const auto notes = ok(store.read_tree_checkpoints());
  REQUIRE(notes.size() == 2);
  CHECK(opened(notes.back(), store).extensions.empty());
}

TEST_CASE("a checkpoint is stamped with the clock the store was given, not the system clock", "[store][tlog]") {
  test_support::TempDir dir;
  // A time far from now: a store that read the system clock would stamp something else.
  contracts::Millis now = 1'234'567'000;
  auto o = plain(dir / "k.db", kSeed);
  o.clock = [&now] { return now; };
  auto store = ok(SqliteStore::open(o));
  tlog::MemoryTree mirror;
  append(store, mirror, 1, 3);
  now += 5'000;
  append(store, mirror, 4, 2);
  CHECK(column(dir / "k.db", "SELECT CAST(at AS TEXT) FROM tree_checkpoints ORDER BY id") ==
        std::vector<std::string>{"1234567000", "1234572000"});
}

TEST_CASE("a rolled-back transaction leaves no block, case row, tree node or checkpoint", "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(plain(path, kSeed)));
  tlog::MemoryTree mirror;
  append(store, mirror, 1, 10);
  ok(store.begin());
  for (std::uint64_t n = 11; n <= 400; ++n) ok(store.append_event(event(n, "V-GONE")));
  CHECK(ok(store.read_events(400, 1)).size() == 1);  // written into the open transaction by the read
  store.rollback();
  CHECK(store.tree_size() == 10);
  CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
  CHECK(column(path, "SELECT count(*) FROM log_blocks") == std::vector<std::string>{"1"});
  CHECK(column(path, "SELECT count(*) FROM log_case_blocks WHERE case_ref = 'V-GONE'") ==
        std::vector<std::string>{"0"});
  CHECK(column(path, "SELECT count(*) FROM log_tree_nodes") == std::vector<std::string>{"0"});
  CHECK(column(path, "SELECT count(*) FROM tree_checkpoints") == std::vector<std::string>{"1"});
  append(store, mirror, 11, 300);
  CHECK(opened(*ok(store.latest_checkpoint_note()), store).root == mirror.root());
  CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
}

TEST_CASE("the broker refuses a store whose blocks do not match its last checkpoint, naming why", "[store][tlog][fault]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  {
    auto store = ok(SqliteStore::open(owner(path)));
    append(store, mirror, 1, 5);
    append(store, mirror, 6, 300);
    append(store, mirror, 306, 4);
  }
  std::filesystem::remove(StoreLock::lock_path(path));  // the checkpoint alone must tell
  ok(SqliteStore::open(owner(path)));                   // intact
  const auto mark = dir / "mark";
  std::filesystem::copy_file(StoreLock::lock_path(path), mark);
  std::filesystem::remove(StoreLock::lock_path(path));

  SECTION("truncated: the last block removed") {
    sql(path, "DELETE FROM log_blocks WHERE first_seq = 306");
    CHECK_THAT(refusal(owner(path)), Contains("ends at seq 305, before the last signed checkpoint (tree size 309)") &&
                                         Contains("truncated"));
  }
  SECTION("truncated back to an earlier checkpoint, the later ones removed too") {
    sql(path, "DROP TRIGGER log_tree_nodes_no_delete; DELETE FROM log_blocks WHERE first_seq >= 6;"
              "DELETE FROM log_tree_nodes; DELETE FROM tree_checkpoints WHERE size > 5");
    // The file alone cannot tell a clean cut from a shorter log; the broker's mark (or a
    // partner's receipt) can.
    std::filesystem::copy_file(mark, StoreLock::lock_path(path));
    CHECK_THAT(refusal(owner(path)), Contains("ends at seq 5, but the broker had committed up to seq 309"));
    std::filesystem::remove(StoreLock::lock_path(path));
    ok(SqliteStore::open(owner(path)));
  }
  SECTION("appended after the last checkpoint without the key") {
    {
      auto tool = ok(SqliteStore::open(plain(path)));
      ok(tool.append_event(event(310)));  // a `delivered` event: only the broker writes those
    }
    CHECK_THAT(refusal(owner(path)), Contains("events seq 310 to 310 were appended after the last signed checkpoint "
                                              "(tree size 309)") &&
                                         Contains("seq 310 is a 'delivered' event"));
  }
  SECTION("a tool's log_read event after the checkpoint is signed at the next start") {
    {
      auto tool = ok(SqliteStore::open(plain(path)));
      auto read = event(310);
      read.record = events::LogRead{"keten log verify", "inspector", "audit"};
      ok(tool.append_event(read));
    }
    auto store = ok(SqliteStore::open(owner(path)));
    CHECK(opened(*ok(store.latest_checkpoint_note()), store).size == 310);
  }
  SECTION("an edited event in the newest block") {
    std::vector<events::Event> forged{event(306), event(307), event(308), event(309)};
    forged[1].recipient = "DVO";
    replace_block(path, 306, forged);
    CHECK_THAT(refusal(owner(path)), Contains("events up to seq 309 do not match the last signed checkpoint") &&
                                         Contains("edited"));
  }
  SECTION("an edited event under a stored tile") {
    std::vector<events::Event> forged;  // the first block of the 300-event transaction, one event edited
    const auto count = std::stoull(column(path, "SELECT count FROM log_blocks WHERE first_seq = 6").front());
    for (std::uint64_t n = 6; n < 6 + count; ++n) forged.push_back(event(n));
    forged[10].recipient = "DVO";
    replace_block(path, 6, forged);
    CHECK_THAT(refusal(owner(path)), Contains("events seq 1 to 256 do not match the tree node stored over them"));
  }
  SECTION("the last checkpoint re-signed with another key") {
    auto other = ok(SqliteStore::open(plain(path, kOtherSeed)));
    ok(other.append_event(event(310)));
    CHECK_THAT(refusal(owner(path)), Contains("does not verify with this broker's signing key") &&
                                         Contains("signed with another key"));
  }
  SECTION("a corrupt block") {
    sql(path, "UPDATE log_blocks SET events = x'00000010deadbeef' WHERE first_seq = 306");
    CHECK_THAT(refusal(owner(path)), Contains("handover log block at seq 306") && Contains("is corrupt"));
  }
}

TEST_CASE("a corrupt block is a storage error naming it, never a crash", "[store][tlog][hostile]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  {
    auto store = ok(SqliteStore::open(plain(path)));
    tlog::MemoryTree mirror;
    append(store, mirror, 1, 4);
    append(store, mirror, 5, 4);
  }
  std::string expected;
  SECTION("a length past the end") {
    sql(path, "UPDATE log_blocks SET events = x'0000ffff00', count = 1 WHERE first_seq = 5");
    expected = "event seq 5 claims 65535 bytes, past the block's end";
  }
  SECTION("bytes that are no event") {
    sql(path, "UPDATE log_blocks SET events = x'00000004deadbeef', count = 1 WHERE first_seq = 5");
    expected = "handover log event seq 5 is corrupt (its bytes are not an event)";
  }
  SECTION("a count the bytes do not hold") {
    sql(path, "UPDATE log_blocks SET count = 3 WHERE first_seq = 5");
    expected = "bytes left after its last event";
  }
  CHECK_THAT(refusal(owner(path)), Contains(expected));  // the broker does not start on it
  auto store = ok(SqliteStore::open(plain(path)));     // a tool reads what can be read
  CHECK(ok(store.read_events(1, 4)).size() == 4);      // the good block
  auto bad = store.read_events(1, 100);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(bad.error().detail, Contains(expected));
  auto case_read = store.read_case_log("V-1");
  REQUIRE_FALSE(case_read.ok());
  CHECK_THAT(case_read.error().detail, Contains(expected));
}

TEST_CASE("a schema-4 store is converted in place, every row kept, its chain head in the first checkpoint",
          "[store][tlog][migration]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto rows = test_support::removal_case_rows();
  auto started = rows[0];
  started.event = "started";
  started.message_id = started.case_ref = started.contract = started.sender = started.recipient = started.payload_digest = "";
  started.version = 0;
  started.detail = "{\"config_digest\":\"abc\"}";
  rows.insert(rows.begin(), started);
  rows[3].detail = "{\"written\":\"by an older broker\"}";  // a detail the types do not render: kept as it was
  const auto stored = test_support::write_schema4_store(path, rows);

  // Read-only tools say what to do.
  auto read_only = plain(path);
  read_only.read_only = true;
  CHECK_THAT(refusal(read_only), Contains("schema version 4") && Contains("start the broker (keten serve) on it once"));

  auto store = ok(SqliteStore::open(owner(path)));
  CHECK(column(path, "SELECT value FROM meta WHERE key = 'schema_version'") == std::vector<std::string>{"5"});
  CHECK(column(path, "SELECT count(*) FROM sqlite_master WHERE name = 'handover_log'") ==
        std::vector<std::string>{"0"});
  CHECK(store.tree_size() == stored.size());
  // Every row, in order, through from_legacy_row; back as the same row with the same chain.
  const auto data = ok(store.read_log_data());
  CHECK(data.rows == stored);
  const auto converted = ok(store.read_events(1, 1000));
  tlog::MemoryTree mirror;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const auto& r = stored[i];
    CHECK(converted[i].event == ok(events::from_legacy_row({r.at, r.event, r.message_id, r.contract, r.version,
                                                            r.case_ref, r.sender, r.recipient, r.delivery_id,
                                                            r.payload_digest, r.detail})));
    mirror.append(events::encode_event(converted[i].event));
  }
  CHECK(converted[3].event.legacy_detail == rows[3].detail);
  const auto cp = opened(*ok(store.latest_checkpoint_note()), store);
  CHECK(cp.size == stored.size());
  CHECK(cp.root == mirror.root());
  REQUIRE(cp.extensions.size() == 1);
  CHECK(cp.extensions[0] == "keten-schema4-head 18 " + stored.back().hash);
  // The old chain's value at the head is still what a schema-4 checkpoint would sign.
  CHECK(ok(store.legacy_log_head()).hash == stored.back().hash);
  CHECK(ok(store.last_started_event())->seq == 1);
}

TEST_CASE("a schema-4 store whose chain is broken is not converted", "[store][tlog][migration]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  test_support::write_schema4_store(path, test_support::removal_case_rows());
  sql(path, "DROP TRIGGER handover_log_no_update; UPDATE handover_log SET recipient = 'DVO' WHERE seq = 7");
  CHECK_THAT(refusal(owner(path)), Contains("row seq 7 does not match its chain") && Contains("not converted"));
  CHECK(column(path, "SELECT value FROM meta WHERE key = 'schema_version'") == std::vector<std::string>{"4"});
}

TEST_CASE("the broker's newest checkpoint note is the one in the file, after every commit", "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(owner(path)));
  tlog::MemoryTree mirror;
  for (std::uint64_t round = 0; round < 3; ++round) {
    append(store, mirror, 1 + round * 10, 10);
    const auto notes = ok(store.read_tree_checkpoints());
    REQUIRE(notes.size() == round + 1);
    CHECK(*ok(store.latest_checkpoint_note()) == notes.back());
    CHECK(opened(notes.back(), store).size == mirror.size());
  }
  ok(store.begin());
  ok(store.append_event(event(31)));
  store.rollback();  // a rolled-back checkpoint is never handed out
  CHECK(opened(*ok(store.latest_checkpoint_note()), store).size == 30);
}

TEST_CASE("a running owner signs, on request, the events a tool appended since its last checkpoint", "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(owner(path)));
  tlog::MemoryTree mirror;
  append(store, mirror, 1, 5);
  REQUIRE(ok(store.read_tree_checkpoints()).size() == 1);

  // Nothing uncovered: nothing to sign, and the commit adds no checkpoint.
  ok(store.begin());
  CHECK_FALSE(store.sign_uncovered_at_commit());
  ok(store.commit());
  CHECK(ok(store.read_tree_checkpoints()).size() == 1);

  {  // a tool (no key) appends while the owner runs
    auto tool = ok(SqliteStore::open(plain(path)));
    auto read = event(6);
    read.record = events::LogRead{"keten log verify", "inspector", "audit"};
    ok(tool.append_event(read));
    CHECK(ok(tool.read_tree_checkpoints()).size() == 1);
  }
  ok(store.begin());  // reloads the tree: 6 events, the checkpoint covers 5
  CHECK(store.tree_size() == 6);
  CHECK(store.sign_uncovered_at_commit());
  ok(store.commit());
  const auto notes = ok(store.read_tree_checkpoints());
  REQUIRE(notes.size() == 2);
  CHECK(opened(notes.back(), store).size == 6);
  CHECK(*ok(store.latest_checkpoint_note()) == notes.back());

  ok(store.begin());
  CHECK_FALSE(store.sign_uncovered_at_commit());  // covered now
  store.rollback();

  // Without a signing key there is nothing to sign with.
  auto tool = ok(SqliteStore::open(plain(path)));
  ok(tool.begin());
  CHECK_FALSE(tool.sign_uncovered_at_commit());
  tool.rollback();
}

TEST_CASE("a complete tile of stored nodes is kept folded: proofs read it, the owner fills one in, a forged one "
          "proves nothing",
          "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  {
    auto store = ok(SqliteStore::open(plain(path)));
    // 65 536 events complete the first tile of level-8 nodes, and the level-16 node over it.
    std::uint64_t n = 1;
    for (std::uint64_t size : {40'000, 25'536, 3'000}) {
      append(store, mirror, n, size);
      n += size;
    }
  }
  const std::uint64_t size = mirror.size();
  REQUIRE(column(path, "SELECT level || ' ' || idx || ' ' || length(hashes) FROM log_node_tiles") ==
          std::vector<std::string>{"8 0 16320"});
  // Its levels one after the other: the 256 stored nodes first; its top two fold to the level-16 node.
  CHECK(column(path, "SELECT substr(hashes, 1, 32) = (SELECT hash FROM log_tree_nodes WHERE level = 8 AND idx = 0)"
                     " FROM log_node_tiles") == std::vector<std::string>{"1"});
  const auto tile = column(path, "SELECT hashes FROM log_node_tiles").front();
  tlog::Hash left;
  tlog::Hash right;
  std::copy_n(tile.end() - 64, 32, left.begin());
  std::copy_n(tile.end() - 32, 32, right.begin());
  const auto top = tlog::node_hash(left, right);
  CHECK(column(path, "SELECT hash FROM log_tree_nodes WHERE level = 16 AND idx = 0") ==
        std::vector<std::string>{std::string(top.begin(), top.end())});
  const std::vector<std::uint64_t> leaves = {0, 300, 25'856, 40'000, 65'535, 65'536, size - 1};
  {
    auto store = ok(SqliteStore::open(plain(path)));
    for (const std::uint64_t index : leaves) {
      INFO("leaf " << index);
      CHECK(ok(tlog::inclusion_proof(index, size, store.tree_reader())) ==
            ok(tlog::inclusion_proof(index, size, mirror.reader())));
    }
  }
  // Without its row (a file of the version before), the owner's open folds and stores it again.
  sql(path, "DROP TRIGGER log_node_tiles_no_delete; DELETE FROM log_node_tiles;");
  ok(SqliteStore::open(owner(path)));
  CHECK(column(path, "SELECT hashes FROM log_node_tiles") == std::vector<std::string>{tile});
  // A forger overwrites stored node 100 inside the row: the proofs through it no longer verify.
  sql(path,
      "DROP TRIGGER log_node_tiles_no_update;"
      "UPDATE log_node_tiles SET hashes = CAST(substr(hashes, 1, 3200) || zeroblob(32) || substr(hashes, 3233) AS BLOB);");
  auto store = ok(SqliteStore::open(plain(path)));
  const std::uint64_t behind = 101 * 256;  // node 101's leaves have node 100 as their level-8 sibling
  const auto proof = ok(tlog::inclusion_proof(behind, size, store.tree_reader()));
  const auto leaf = tlog::leaf_hash(events::encode_event(event(behind + 1)));
  CHECK_FALSE(tlog::verify_inclusion(behind, size, leaf, proof, mirror.root()).ok());
  // Without the shortcut rows it proves, and the forged row is named by its id.
  CHECK(tlog::verify_inclusion(behind, size, leaf, ok(tlog::inclusion_proof(behind, size, store.source_tree_reader())),
                               mirror.root())
            .ok());
  CHECK(ok(store.damaged_shortcuts(behind + 1, size)) ==
        std::vector<std::string>{"log_node_tiles row id=" + std::to_string(std::uint64_t{8} << 40) +
                                 " (level 8, tile 0: not the fold of its log_tree_nodes)"});
  CHECK(ok(store.damaged_shortcuts(size, size)).empty());  // the last leaf's tiles hold no node tile
  const auto elsewhere = ok(tlog::inclusion_proof(size - 1, size, store.tree_reader()));
  CHECK(elsewhere == ok(tlog::inclusion_proof(size - 1, size, mirror.reader())));
}
