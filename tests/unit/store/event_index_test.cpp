// The event index: where each case's events sit in their blocks (log_case_blocks.positions) and
// the leaf hashes of every block (log_leaves), so that a case's replay reads only its own events
// and proves each from stored hashes. What it must never do: hand out other bytes than the log
// holds, hide an edited event, or stop older stores (without the index, or with a damaged one) from
// being read.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/audit/callback_source.h"
#include "broker/audit/case_proofs.h"
#include "broker/audit/log_source.h"
#include "broker/events/codec.h"
#include "broker/store/event_block.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/note.h"
#include "broker/tlog/proof.h"
#include "tests/support/log_tamper.h"
#include "tests/support/ok.h"
#include "tests/support/store_probe.h"
#include "tests/support/temp_dir.h"

namespace {

namespace events = broker::events;
namespace tlog = broker::tlog;
using broker::store::SqliteStore;
using broker::store::StoreOptions;
using test_support::ok;

const std::string kSeed(32, 'k');

StoreOptions writer(const std::filesystem::path& path) {
  StoreOptions o;
  o.path = path;
  o.sync_full = false;
  o.signing_seed = kSeed;
  return o;
}
StoreOptions reader(const std::filesystem::path& path) {
  StoreOptions o;
  o.path = path;
  o.read_only = true;
  return o;
}

events::Event event(std::uint64_t n, const std::string& case_ref) {
  events::Event e;
  e.at = 1'000 + static_cast<contracts::Millis>(n);
  e.message_id = "m-" + std::to_string(n);
  e.case_ref = case_ref;
  e.sender = "DTV";
  e.recipient = "KMAR";
  e.delivery_id = static_cast<std::int64_t>(n);
  e.record = events::Delivered{static_cast<std::uint32_t>(n % 7)};
  return e;
}
events::Event start(std::uint64_t n) {
  events::Event e;
  e.at = 1'000 + static_cast<contracts::Millis>(n);
  e.record = events::Started{};
  return e;
}

// Blocks of uneven sizes with three cases interleaved and a broker start in two of them; `mirror`
// gets the same leaves.
void fill(SqliteStore& store, tlog::MemoryTree& mirror) {
  std::uint64_t n = 1;
  for (std::uint64_t size : {3, 300, 1, 700, 40}) {
    ok(store.begin());
    for (std::uint64_t i = 0; i < size; ++i, ++n) {
      const auto e = (n == 2 || n == 1003) ? start(n) : event(n, n % 3 == 0 ? "V-A" : n % 3 == 1 ? "V-B" : "V-C");
      mirror.append(events::encode_event(e));
      ok(store.append_event(e));
    }
    ok(store.commit());
  }
}

// fill() into a new store at `path`, closed again.
void fill_file(const std::filesystem::path& path, tlog::MemoryTree& mirror) {
  auto store = ok(SqliteStore::open(writer(path)));
  fill(store, mirror);
}

void exec(const std::filesystem::path& path, const std::string& text) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  INFO(text << " : " << sqlite3_errmsg(db.get()));
  REQUIRE(sqlite3_exec(db.get(), text.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

// The events of `case_ref` as the whole log holds them, for comparison.
std::vector<events::LoggedEvent> scanned(SqliteStore& store, const std::string& case_ref) {
  std::vector<events::LoggedEvent> out;
  for (auto& e : ok(store.read_events(1, 100'000))) {
    if (e.event.case_ref == case_ref) out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs(const std::filesystem::path& path, const std::string& text) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, text.c_str(), -1, &st, nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(st);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    out.emplace_back(static_cast<std::uint64_t>(sqlite3_column_int64(st, 0)),
                     static_cast<std::uint64_t>(sqlite3_column_int64(st, 1)));
  }
  return out;
}

std::string column(const std::filesystem::path& path, const std::string& text) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, text.c_str(), -1, &st, nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(st);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  return std::string(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                     static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
}

std::vector<std::uint64_t> seqs(const std::vector<broker::audit::LogEntry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.seq);
  return out;
}

}  // namespace

TEST_CASE("a case's events read from their positions are those the whole log holds", "[store][tlog]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto store = ok(SqliteStore::open(writer(path)));
  tlog::MemoryTree mirror;
  fill(store, mirror);
  for (const char* c : {"V-A", "V-B", "V-C"}) {
    INFO(c);
    const auto expected = scanned(store, c);
    REQUIRE(expected.size() > 300);
    CHECK(ok(store.read_case_events(c)) == expected);
    const auto entries = ok(store.read_case_entries(c));
    REQUIRE(entries.size() == expected.size());
    for (std::size_t i = 0; i < entries.size(); ++i) CHECK(entries[i].bytes == events::encode_event(expected[i].event));
  }
  CHECK(seqs(ok(store.read_start_entries())) == std::vector<std::uint64_t>{2, 1003});
  // Twelve bytes per event of the case, over its blocks; 32 bytes of leaf hash per event.
  test_support::StoreProbe probe(path);
  CHECK(probe.count("SELECT sum(length(positions)) FROM log_case_blocks WHERE case_ref = 'V-A'") ==
        static_cast<std::int64_t>(scanned(store, "V-A").size() * 12));
  // Per block, the hashes its appends completed at levels 0 to 7, level by level.
  const auto blocks = pairs(path,
                            "SELECT b.first_seq, length(l.hashes) FROM log_blocks b JOIN log_leaves l USING (first_seq)"
                            " ORDER BY first_seq");
  REQUIRE(blocks.size() == static_cast<std::size_t>(probe.count("SELECT count(*) FROM log_blocks")));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::uint64_t a = blocks[i].first - 1;
    const std::uint64_t b = (i + 1 < blocks.size() ? blocks[i + 1].first - 1 : 1044) - 1;
    std::uint64_t hashes = 0;
    for (unsigned j = 0; j < 8; ++j) hashes += ((b + 1) >> j) - (a >> j);
    CHECK(blocks[i].second == hashes * 32);
  }
  // The first block (seqs 1-3): three leaves and the level-1 node over leaves 0 and 1.
  const auto first_row = column(path, "SELECT hashes FROM log_leaves WHERE first_seq = 1");
  const auto node = ok(mirror.reader()(1, 0));
  CHECK(first_row.substr(96, 32) == std::string(reinterpret_cast<const char*>(node.data()), node.size()));
}

TEST_CASE("a store whose index has no positions (written before them) reads its cases from whole blocks",
          "[store][tlog][migration]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  fill_file(path, mirror);
  // As a file of the version before: no positions column, no leaf hashes.
  exec(path, "ALTER TABLE log_case_blocks DROP COLUMN positions; DROP TABLE log_leaves;");
  std::vector<events::LoggedEvent> before;
  {
    auto old = ok(SqliteStore::open(reader(path)));
    before = ok(old.read_case_events("V-B"));
    CHECK(before == scanned(old, "V-B"));
    CHECK(seqs(ok(old.read_start_entries())) == std::vector<std::uint64_t>{2, 1003});
    const auto proof = ok(tlog::inclusion_proof(500, mirror.size(), old.tree_reader()));
    CHECK(proof == ok(tlog::inclusion_proof(500, mirror.size(), mirror.reader())));
  }
  // The first read-write open adds the index; blocks from then on have positions and leaves.
  auto store = ok(SqliteStore::open(writer(path)));
  ok(store.begin());
  for (std::uint64_t n = 1045; n < 1050; ++n) {
    mirror.append(events::encode_event(event(n, "V-B")));
    ok(store.append_event(event(n, "V-B")));
  }
  ok(store.commit());
  test_support::StoreProbe probe(path);
  CHECK(probe.count("SELECT count(*) FROM log_case_blocks WHERE positions = x''") > 0);
  CHECK(probe.count("SELECT length(positions) FROM log_case_blocks WHERE first_seq = 1045") == 5 * 12);
  CHECK(probe.count("SELECT count(*) FROM log_leaves") == 1);
  const auto after = ok(store.read_case_events("V-B"));
  REQUIRE(after.size() == before.size() + 5);
  CHECK(std::vector<events::LoggedEvent>(after.begin(), after.begin() + static_cast<long>(before.size())) == before);
  CHECK(after == scanned(store, "V-B"));
  for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{700}, mirror.size() - 1}) {
    CHECK(ok(tlog::inclusion_proof(index, mirror.size(), store.tree_reader())) ==
          ok(tlog::inclusion_proof(index, mirror.size(), mirror.reader())));
  }
}

TEST_CASE("an event rewritten with another length does not hide behind stale positions: it is read and fails its proof",
          "[store][tlog][tamper]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  fill_file(path, mirror);
  // seq 400 is V-B's (400 % 3 == 1), in the 700-event block at 305; every later event moves.
  test_support::rewrite_event(path, 400, [](const events::Event& e) {
    auto forged = e;
    forged.recipient = "KMAR-AND-SOMEONE-ELSE";
    return events::encode_event(forged);
  });
  auto store = ok(SqliteStore::open(reader(path)));
  const auto entries = ok(store.read_case_entries("V-B"));
  const auto all = scanned(store, "V-B");
  REQUIRE(entries.size() == all.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(entries[i].seq == all[i].seq);
    CHECK(entries[i].bytes == events::encode_event(all[i].event));
  }
  broker::audit::LogCallbacks calls;
  calls.read_events = [&](std::uint64_t from, std::size_t limit) { return store.read_events(from, limit); };
  calls.read_case_entries = [&](std::string_view c) { return store.read_case_entries(c); };
  calls.read_start_entries = [&] { return store.read_start_entries(); };
  calls.read_checkpoints = [&] { return store.read_tree_checkpoints(); };
  broker::audit::CallbackLogSource source(std::move(calls));
  const auto key = ok(tlog::make_signer(store.log_origin(), kSeed)).verifier;
  const auto proven = ok(broker::audit::prove_case(source, "V-B", store.tree_reader(), key));
  CHECK_FALSE(proven.report.ok);
  CHECK(proven.report.first_bad_seq == 400);
  CHECK(proven.report.proven == entries.size() + 2 - 1);  // every event and both starts, but the edited one
}

TEST_CASE("positions that are garbage or point past their block are passed over for the block's own events",
          "[store][tlog][hostile]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  fill_file(path, mirror);
  std::vector<events::LoggedEvent> expected;
  {
    auto store = ok(SqliteStore::open(reader(path)));
    expected = scanned(store, "V-C");
  }
  exec(path,
       "DROP TRIGGER log_case_blocks_no_update;"
       "UPDATE log_case_blocks SET positions = x'0102030405' WHERE case_ref = 'V-C' AND first_seq = 4;"
       "UPDATE log_case_blocks SET positions = x'00000000FFFFFF0000000010' WHERE case_ref = 'V-C' AND first_seq = 305;"
       "UPDATE log_case_blocks SET positions = x'000000000000000400000010' WHERE case_ref = 'V-C' AND first_seq = "
       "1005;");
  auto store = ok(SqliteStore::open(reader(path)));
  CHECK(ok(store.read_case_events("V-C")) == expected);
}

TEST_CASE("proof hashes from stored leaves are those of the events, and a forged leaf proves nothing",
          "[store][tlog][tamper]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  fill_file(path, mirror);
  const std::uint64_t size = mirror.size();
  {
    auto store = ok(SqliteStore::open(reader(path)));
    for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{3}, std::uint64_t{303}, std::uint64_t{600}, size - 1}) {
      CHECK(ok(tlog::inclusion_proof(index, size, store.tree_reader())) ==
            ok(tlog::inclusion_proof(index, size, mirror.reader())));
      // Intact: no shortcut row is named, in whole tiles, the last partial one, or a smaller tree.
      CHECK(ok(store.damaged_shortcuts(index + 1, size)).empty());
      CHECK(ok(store.damaged_shortcuts(index + 1, index + 1)).empty());
    }
  }
  // A forger overwrites the stored leaf hash of seq 601.
  const auto first = static_cast<std::size_t>(test_support::StoreProbe(path).count(
      "SELECT first_seq FROM log_blocks WHERE first_seq <= 601 ORDER BY first_seq DESC LIMIT 1"));
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    broker::store::DbHandle db(raw);
    REQUIRE(sqlite3_exec(raw, "DROP TRIGGER log_leaves_no_update", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    const std::string where = " WHERE first_seq = " + std::to_string(first);
    REQUIRE(sqlite3_prepare_v2(raw, ("SELECT hashes FROM log_leaves" + where).c_str(), -1, &st, nullptr) == SQLITE_OK);
    broker::store::StmtHandle read(st);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    std::string hashes(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                       static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    read.reset();
    REQUIRE(hashes.size() >= (601 - first + 1) * 32);
    hashes.replace((601 - first) * 32, 32, std::string(32, '\0'));
    REQUIRE(sqlite3_prepare_v2(raw, ("UPDATE log_leaves SET hashes = ?" + where).c_str(), -1, &st, nullptr) ==
            SQLITE_OK);
    broker::store::StmtHandle write(st);
    sqlite3_bind_blob(st, 1, hashes.data(), static_cast<int>(hashes.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
  }
  auto store = ok(SqliteStore::open(reader(path)));
  // seq 602's proof has seq 601's leaf as its first sibling.
  const auto leaf = tlog::leaf_hash(events::encode_event(event(602, "V-C")));
  const auto proof = ok(tlog::inclusion_proof(601, size, store.tree_reader()));
  CHECK_FALSE(tlog::verify_inclusion(601, size, leaf, proof, mirror.root()).ok());
  // Without the shortcut rows the event proves, and the forged row is the one named.
  const auto again = ok(tlog::inclusion_proof(601, size, store.source_tree_reader()));
  CHECK(tlog::verify_inclusion(601, size, leaf, again, mirror.root()).ok());
  CHECK(ok(store.damaged_shortcuts(602, size)) ==
        std::vector<std::string>{"log_leaves row first_seq=" + std::to_string(first) +
                                 " (its level-0 hash for events up to seq 601 is not the events' own)"});
  CHECK(ok(store.damaged_shortcuts(1, size)).empty());  // tile 0 and the last tile are intact
}

TEST_CASE(
    "a block whose leaf hashes are missing or cut short has its tile hashed from the events, and proves as before",
    "[store][tlog][hostile]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  fill_file(path, mirror);
  const std::uint64_t size = mirror.size();
  // The one-event block at seq 304 sits inside the tile of seqs 257-512, between blocks that keep
  // their rows; the last block's row loses its last hash.
  exec(path,
       "DROP TRIGGER log_leaves_no_delete; DROP TRIGGER log_leaves_no_update;"
       "DELETE FROM log_leaves WHERE first_seq = 304;"
       "UPDATE log_leaves SET hashes = substr(hashes, 1, length(hashes) - 32) WHERE first_seq = 1005;");
  auto store = ok(SqliteStore::open(reader(path)));
  for (std::uint64_t index : {std::uint64_t{256}, std::uint64_t{302}, std::uint64_t{303}, std::uint64_t{304},
                              std::uint64_t{511}, std::uint64_t{1004}, size - 1}) {
    INFO("leaf " << index);
    CHECK(ok(tlog::inclusion_proof(index, size, store.tree_reader())) ==
          ok(tlog::inclusion_proof(index, size, mirror.reader())));
  }
}

TEST_CASE("positions: twelve bytes each, ascending, refused with the block named otherwise", "[store][tlog]") {
  std::string positions;
  broker::store::append_position(positions, {0, 4, 10});
  broker::store::append_position(positions, {7, 300, 0x01020304});
  const auto parsed = ok(broker::store::parse_positions(9, positions));
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[1].index == 7);
  CHECK(parsed[1].offset == 300);
  CHECK(parsed[1].length == 0x01020304);
  auto short_value = broker::store::parse_positions(9, positions.substr(0, 13));
  REQUIRE_FALSE(short_value.ok());
  CHECK_THAT(short_value.error().detail, Catch::Contains("block at seq 9") && Catch::Contains("13 bytes"));
  std::string descending;
  broker::store::append_position(descending, {5, 4, 1});
  broker::store::append_position(descending, {5, 9, 1});
  CHECK_FALSE(broker::store::parse_positions(9, descending).ok());
  std::string before_prefix;
  broker::store::append_position(before_prefix, {0, 2, 1});
  CHECK_FALSE(broker::store::parse_positions(9, before_prefix).ok());
  std::string block;
  CHECK(broker::store::append_to_block(block, "abc") == 4);
  CHECK(broker::store::append_to_block(block, "de") == 11);
  CHECK(broker::store::length_prefix(std::string_view(block).substr(7, 4)) == 2);
}

TEST_CASE("a read-only store proves events against a checkpoint its writer signed after it was opened",
          "[store][tlog][live]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  tlog::MemoryTree mirror;
  auto writer_store = ok(SqliteStore::open(writer(path)));
  fill(writer_store, mirror);
  auto tool = ok(SqliteStore::open(reader(path)));  // a tool beside a running broker
  const std::uint64_t seen_at_open = tool.tree_size();
  ok(writer_store.begin());
  for (std::uint64_t n = 1045; n < 1345; ++n) {
    mirror.append(events::encode_event(event(n, "V-B")));
    ok(writer_store.append_event(event(n, "V-B")));
  }
  ok(writer_store.commit());
  const auto note = ok(tool.latest_checkpoint_note());
  REQUIRE(note.has_value());
  const auto key = ok(tlog::make_signer(tool.log_origin(), kSeed)).verifier;
  const auto cp = ok(tlog::open_checkpoint(*note, key));
  REQUIRE(cp.size == mirror.size());
  REQUIRE(cp.size > seen_at_open);
  // The newest event, and one whose lowest siblings lie past what the tool saw at open.
  for (std::uint64_t index : {seen_at_open - 1, cp.size - 1}) {
    const auto proof = ok(tlog::inclusion_proof(index, cp.size, tool.tree_reader()));
    CHECK(proof == ok(tlog::inclusion_proof(index, cp.size, mirror.reader())));
  }
  broker::audit::LogCallbacks calls;
  calls.read_case_entries = [&](std::string_view c) { return tool.read_case_entries(c); };
  calls.read_start_entries = [&] { return tool.read_start_entries(); };
  calls.read_checkpoints = [&]() -> contracts::Result<std::vector<std::string>> {
    return std::vector<std::string>{*note};
  };
  broker::audit::CallbackLogSource source(std::move(calls));
  const auto proven = ok(broker::audit::prove_case(source, "V-B", tool.tree_reader(), key));
  CHECK(proven.report.ok);
  CHECK(proven.report.proven == proven.report.rows);
  CHECK(proven.report.rows == scanned(writer_store, "V-B").size() + 2);
}
