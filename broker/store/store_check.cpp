#include "broker/store/store_check.h"

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "broker/events/codec.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/store.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/proof.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

// `where` names the store: "store <path>" for a file, "postgresql store" for a database.
Error refused(const std::string& where, const std::string& what) {
  return Error{ErrorCode::kStorage, where + " : " + what};
}

constexpr const char* kRestore =
    "; restore the store from a backup (docs/operations.md, \"Recovering a damaged store\")";

// The note's text: everything up to and including the newline before the blank line that starts
// its signatures (docs/transparency-log.md).
std::string_view note_text(std::string_view note) {
  const auto blank = note.rfind("\n\n");
  return blank == std::string_view::npos ? note : note.substr(0, blank + 1);
}

// The Merkle root of the first `size` events through `event_reader` (the leaves hashed from the
// blocks' events).
Result<tlog::Hash> root_at(const tlog::NodeReader& event_reader, std::uint64_t size) {
  if (size == 0) return tlog::empty_root();
  return tlog::range_root(0, size, event_reader);
}

// Kinds a tool without the signing key appends (`keten log` records its reads, `keten resend`
// its resends): accepted after the last checkpoint, and signed at the broker's start.
bool tool_kind(events::Kind kind) {
  return kind == events::Kind::kLogRead || kind == events::Kind::kResent || kind == events::Kind::kHold ||
         kind == events::Kind::kRelease;
}

// Which complete 256-event tiles check_tail_tiles compares: the newest, enough to cover the
// newest `max_events` events. [first, end) in tile indexes.
struct TailTiles {
  std::uint64_t first = 0, end = 0;
};
TailTiles tail_tiles(std::uint64_t size, std::size_t max_events) {
  const std::uint64_t complete = size / 256;
  return {complete - std::min<std::uint64_t>(complete, max_events / 256 + 1), complete};
}

// The stored level-8 nodes over `tiles` against their leaves hashed again from `events` (read
// from the blocks, ascending and without gaps, the first at seq `from`, holding every event of
// those tiles): an edited event in the tail shows here even where its tile is complete, which
// the checkpoint's root, folded from the stored nodes, does not see.
Result<void> check_tail_tiles(Store& store, const std::string& where, const std::vector<events::LoggedEvent>& events,
                              std::uint64_t from, TailTiles tiles) {
  auto reader = store.tree_reader();
  std::vector<tlog::Hash> leaves;
  for (std::uint64_t t = tiles.first; t < tiles.end; ++t) {
    leaves.clear();
    for (std::uint64_t seq = t * 256 + 1; seq <= t * 256 + 256; ++seq) {
      leaves.push_back(tlog::leaf_hash(events::encode_event(events[seq - from].event)));
    }
    auto stored = reader(8, t);
    if (!stored) return refused(where, "cannot read the log's tree: " + stored.error().detail + kRestore);
    if (tlog::root_of(leaves) != *stored) {
      return refused(where, "the handover log's events seq " + std::to_string(t * 256 + 1) + " to " +
                                std::to_string(t * 256 + 256) +
                                " do not match the tree node stored over them (level 8, index " + std::to_string(t) +
                                "): an event there was edited" + kRestore);
    }
  }
  return {};
}

}  // namespace

Result<void> quick_check(sqlite3* db, const std::string& path) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &raw, nullptr) != SQLITE_OK) {
    return refused("store " + path,
                   std::string("damaged: the integrity check cannot run: ") + sqlite3_errmsg(db) + kRestore);
  }
  StmtHandle stmt(raw);
  std::vector<std::string> findings;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    findings.emplace_back(text == nullptr ? "" : text);
  }
  if (rc != SQLITE_DONE) {
    return refused("store " + path,
                   std::string("damaged: the integrity check (quick_check) failed: ") + sqlite3_errmsg(db) + kRestore);
  }
  if (findings.size() == 1 && findings.front() == "ok") return {};
  std::string joined;
  for (const auto& f : findings) joined += (joined.empty() ? "" : "; ") + f;
  return refused("store " + path, "damaged pages: the integrity check (quick_check) found: " + joined + kRestore);
}

std::string unsigned_broker_refusal(const std::string& checkpoint, const std::string& origin) {
  return "the handover log is signed (" + checkpoint + " of log '" + origin +
         "'), and this broker has no [broker] signing_key: the events it appended would not be signed, and "
         "the store's checks would no longer tell them from events appended behind the broker's back. Set "
         "[broker] signing_key to the key that signed this log";
}

Result<void> check_log_against_checkpoint(Store& store, const tlog::NodeReader& event_reader, const std::string& where,
                                          std::size_t max_rows) {
  // Every event decodes (a corrupt block is named here) and the blocks hold every seq.
  const std::uint64_t size = store.tree_size();
  const std::uint64_t tail_from = size > max_rows ? size - max_rows + 1 : 1;

  auto latest = store.latest_checkpoint_note();
  if (!latest) return refused(where, "cannot read the checkpoints: " + latest.error().detail);
  std::uint64_t signed_size = 0;
  if (*latest) {
    auto cp = tlog::parse_checkpoint(note_text(**latest));
    if (!cp) return refused(where, "the last signed checkpoint is unreadable: " + cp.error().detail + kRestore);
    const std::string named = "the last signed checkpoint (tree size " + std::to_string(cp->size) + ")";
    if (auto verifier = store.checkpoint_verifier()) {
      if (auto opened = tlog::open_checkpoint(**latest, *verifier); !opened) {
        return refused(where, named + " does not verify with this broker's signing key (" + opened.error().detail +
                                  "): it was altered, or signed with another key" + kRestore);
      }
    }
    if (cp->origin != store.log_origin()) {
      return refused(where, named + " is of log '" + cp->origin + "', not of this store's log '" + store.log_origin() +
                                "'" + kRestore);
    }
    if (cp->size > size) {
      return refused(where, "the handover log ends at seq " + std::to_string(size) + ", before " + named +
                                ": its newest events are lost (the log was truncated)" + kRestore);
    }
    auto root = root_at(event_reader, cp->size);
    if (!root) return refused(where, "cannot read the log's tree: " + root.error().detail + kRestore);
    if (*root != cp->root) {
      return refused(where, "the handover log's events up to seq " + std::to_string(cp->size) + " do not match " +
                                named + " (another Merkle root): events or blocks were edited" + kRestore);
    }
    signed_size = cp->size;
    // A broker without the key would append events no checkpoint covers, and every later start,
    // with the key or without, would refuse them as appended behind the broker's back.
    if (!store.checkpoint_verifier()) return refused(where, unsigned_broker_refusal(named, cp->origin));
  }
  // Every event after the checkpoint is read (it must decode), and only tools' events may be there;
  // with the tiles the tail check compares, read once for both.
  if (size == 0) return {};
  const TailTiles tiles = tail_tiles(size, max_rows);
  const std::uint64_t from = std::min({tail_from, signed_size + 1, tiles.first * 256 + 1});
  auto events = store.read_events(from, static_cast<std::size_t>(size - from + 1));
  if (!events) return refused(where, "cannot read the handover log: " + events.error().detail + kRestore);
  if (events->size() != size - from + 1 || events->back().seq != size) {
    return refused(where, "the handover log's blocks do not hold every event from seq " + std::to_string(from) +
                              " to " + std::to_string(size) + ": blocks were removed" + kRestore);
  }
  if (*latest) {
    for (const auto& e : *events) {
      if (e.seq > signed_size && !tool_kind(e.event.kind())) {
        return refused(where, "events seq " + std::to_string(signed_size + 1) + " to " + std::to_string(size) +
                                  " were appended after the last signed checkpoint (tree size " +
                                  std::to_string(signed_size) + ") without it being signed; seq " +
                                  std::to_string(e.seq) + " is a '" + std::string(events::to_string(e.event.kind())) +
                                  "' event, which only the broker writes" + kRestore);
      }
    }
  }
  return check_tail_tiles(store, where, *events, from, tiles);
}

Result<void> check_log_tail(SqliteStore& store, const std::string& path, const TailCheck& check) {
  const std::string where = "store " + path;
  if (auto r = check_log_against_checkpoint(store, store.event_tree_reader(), where, check.max_rows); !r) return r;
  const std::uint64_t size = store.tree_size();
  if (check.mark && check.mark->seq > 0) {
    const CommitMark& mark = *check.mark;
    const std::string recorded = " (recorded in " + check.lock_path + ")";
    if (mark.seq > size) {
      return refused(where, "the handover log ends at seq " + std::to_string(size) +
                                ", but the broker had committed up to seq " + std::to_string(mark.seq) + recorded +
                                ": committed transactions are missing (a damaged " + path +
                                "-wal, or an older copy of the store put in its place). If you restored a backup "
                                "on purpose, remove " +
                                check.lock_path + " and start again" + kRestore);
    }
    auto root = root_at(store.event_tree_reader(), mark.seq);
    if (!root) return refused(where, "cannot read the log's tree: " + root.error().detail + kRestore);
    // A mark written by a schema-4 broker holds that log's chain hash: the head recorded at conversion.
    const bool schema4_mark =
        check.schema4_head && check.schema4_head->seq == mark.seq && check.schema4_head->hash == mark.hash;
    if (contracts::hex_of(*root) != mark.hash && !schema4_mark) {
      return refused(where, "the handover log's events up to seq " + std::to_string(mark.seq) +
                                " are not the ones the broker committed" + recorded +
                                ": the store file was replaced or altered. If you restored a backup on purpose, "
                                "remove " +
                                check.lock_path + " and start again" + kRestore);
    }
  }
  return {};
}

}  // namespace broker::store
