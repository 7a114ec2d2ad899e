// PgStore's handover log: blocks, case index, the tree's stored nodes and signed checkpoints,
// written as SqliteStore writes them (docs/store-format.md, "On PostgreSQL").

#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <utility>

#include "broker/events/codec.h"
#include "broker/store/event_block.h"
#include "broker/store/pg_store.h"
#include "broker/store/pg_store_impl.h"
#include "broker/store/store_check.h"
#include "broker/store/stored_events.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/proof.h"

namespace broker::store {
namespace {

using contracts::Error;
using ha::PgRow;
using pg::int_at;
using pg::storage_error;

// Blocks read per query when walking the log.
constexpr int kBlocksPerRead = 64;

// The bytes of the events `positions` names in `block`, or nullopt when the positions do not
// match the block (then it is read whole).
std::optional<std::vector<std::pair<std::uint64_t, std::string_view>>> positioned(std::uint64_t first,
                                                                                  std::uint64_t count,
                                                                                  std::string_view block,
                                                                                  std::string_view positions) {
  if (positions.empty()) return std::nullopt;
  auto parsed = parse_positions(first, positions);
  if (!parsed) return std::nullopt;
  std::vector<std::pair<std::uint64_t, std::string_view>> out;
  for (const auto& p : *parsed) {
    if (p.index >= count || p.offset < 4 || p.offset > block.size() || p.length > block.size() - p.offset) {
      return std::nullopt;
    }
    if (length_prefix(block.substr(p.offset - 4, 4)) != p.length) return std::nullopt;
    out.emplace_back(first + p.index, block.substr(p.offset, p.length));
  }
  return out;
}

bool is_start(const events::Event& e) { return e.kind() == events::Kind::kStarted; }

}  // namespace

Result<std::uint64_t> PgStore::Impl::stored_size() {
  auto rows = query("read log size",
                    "SELECT coalesce((SELECT first_seq + count - 1 FROM keten_log_blocks ORDER BY first_seq DESC"
                    " LIMIT 1), 0), (SELECT size FROM keten_tree_checkpoints ORDER BY id DESC LIMIT 1)");
  if (!rows) return rows.error();
  const PgRow& row = rows->front();
  has_tree_checkpoint = !row[1].empty();
  last_signed_size = has_tree_checkpoint ? static_cast<std::uint64_t>(int_at(row, 1)) : 0;
  return static_cast<std::uint64_t>(int_at(row, 0));
}

Result<void> PgStore::Impl::load_tree(bool force) {
  auto size = stored_size();
  if (!size) return size.error();
  if (*size == tree.size() && !force) return {};
  if (*size == 0) {
    tree = tlog::CompactTree();
  } else {
    TileCache cache;
    const std::uint64_t n = *size;
    auto restored = tlog::CompactTree::restore(
        n, [&](unsigned level, std::uint64_t index) { return read_node(cache, level, index, n); });
    if (!restored) return storage_error("read the log's tree", restored.error().detail);
    tree = std::move(*restored);
  }
  root_hex = contracts::hex_of(tree.root());
  return {};
}

Result<void> PgStore::Impl::check_newest_checkpoint() {
  auto rows = query("read checkpoints", "SELECT note FROM keten_tree_checkpoints ORDER BY id DESC LIMIT 1");
  if (!rows) return rows.error();
  if (rows->empty()) return {};
  const std::string& note = rows->front()[0];
  const auto fail = [&](const std::string& what) {
    return storage_error("open postgresql store", "the newest checkpoint does not match the stored log: " + what +
                                                      "; the log was altered or cut back behind the store's back");
  };
  Result<tlog::Checkpoint> cp = Error{contracts::ErrorCode::kStorage, ""};
  if (signer) {
    cp = tlog::open_checkpoint(note, signer->verifier);
  } else {
    const auto blank = note.find("\n\n");
    if (blank == std::string::npos) return fail("a note without its signature");
    cp = tlog::parse_checkpoint(std::string_view(note).substr(0, blank + 1));
  }
  if (!cp) return fail(cp.error().detail);
  if (cp->origin != origin) return fail("its origin is " + cp->origin + ", the log's is " + origin);
  // A leader (a broker) without the key: the events it appended would be signed over, unseen, by
  // the next broker with it (store_check.h).
  if (!signer && epoch) {
    return storage_error(
        "open postgresql store",
        unsigned_broker_refusal("the last signed checkpoint (tree size " + std::to_string(cp->size) + ")", cp->origin));
  }
  if (cp->size > tree.size()) {
    return fail("it covers " + std::to_string(cp->size) + " events, the log holds " + std::to_string(tree.size()));
  }
  tlog::Hash root = tlog::empty_root();
  if (cp->size > 0) {
    TileCache cache;
    const std::uint64_t n = tree.size();
    auto got = tlog::range_root(0, cp->size,
                                [&](unsigned level, std::uint64_t index) { return read_node(cache, level, index, n); });
    if (!got) return fail(got.error().detail);
    root = *got;
  }
  if (root != cp->root) {
    return fail("the tree of its " + std::to_string(cp->size) + " events has root " + contracts::hex_of(root) +
                ", it signs " + contracts::hex_of(cp->root));
  }
  return {};
}

template <class F>
Result<void> PgStore::Impl::each_event_bytes(std::uint64_t from, std::uint64_t to, std::string_view what, F&& f) {
  std::uint64_t next = std::max<std::uint64_t>(from, 1);
  while (next <= to && next <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    // From the block holding `next` on, through the primary key.
    auto rows = query(std::string(what),
                      "SELECT first_seq, count, events FROM keten_log_blocks WHERE first_seq >= coalesce((SELECT "
                      "max(first_seq) FROM keten_log_blocks WHERE first_seq <= $1), 1) AND first_seq <= $2"
                      " ORDER BY first_seq LIMIT " +
                          std::to_string(kBlocksPerRead),
                      {pg::bigint(next), pg::bigint(to)});
    if (!rows) return rows.error();
    const std::uint64_t before = next;
    for (const auto& row : *rows) {
      const auto first = static_cast<std::uint64_t>(int_at(row, 0));
      const auto count = static_cast<std::uint64_t>(int_at(row, 1));
      auto blob = pg::from_bytea(row[2], what);
      if (!blob) return blob.error();
      auto parts = split_block(first, count, *blob);
      if (!parts) return storage_error(what, parts.error().detail);
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t seq = first + i;
        if (seq < next) continue;
        if (seq > to) return {};
        if (!f(seq, (*parts)[i])) return {};
      }
      next = std::max(next, first + count);
    }
    // The last block was in this batch, or the log ends before `next`.
    if (rows->size() < static_cast<std::size_t>(kBlocksPerRead) || next == before) return {};
  }
  return {};
}

Result<std::vector<events::LoggedEvent>> PgStore::Impl::events_between(std::uint64_t from, std::uint64_t to,
                                                                       std::string_view what) {
  return decode_stored_events([&](auto&& f) { return each_event_bytes(from, to, what, f); }, what);
}

template <class Keep>
Result<std::vector<events::LoggedEvent>> PgStore::Impl::indexed_events(std::string_view key, std::string_view what,
                                                                       Keep&& keep, bool newest_only) {
  auto rows = query(std::string(what),
                    std::string("SELECT c.first_seq, c.positions, b.count, b.events FROM keten_log_case_blocks c"
                                " JOIN keten_log_blocks b ON b.first_seq = c.first_seq WHERE c.case_ref = $1") +
                        (newest_only ? " ORDER BY c.first_seq DESC LIMIT 1" : " ORDER BY c.first_seq"),
                    {std::string(key)});
  if (!rows) return rows.error();
  std::vector<events::LoggedEvent> out;
  for (const auto& row : *rows) {
    const auto first = static_cast<std::uint64_t>(int_at(row, 0));
    const auto count = static_cast<std::uint64_t>(int_at(row, 2));
    auto positions = pg::from_bytea(row[1], what);
    if (!positions) return positions.error();
    auto block = pg::from_bytea(row[3], what);
    if (!block) return block.error();
    auto chosen = positioned(first, count, *block, *positions);
    if (!chosen) {  // no or mismatched positions: the block read whole
      auto parts = split_block(first, count, *block);
      if (!parts) return storage_error(what, parts.error().detail);
      chosen.emplace();
      for (std::uint64_t i = 0; i < count; ++i) chosen->emplace_back(first + i, (*parts)[i]);
    }
    for (const auto& [seq, bytes] : *chosen) {
      auto event = decode_stored_event(seq, bytes, what);
      if (!event) return event.error();
      if (keep(*event)) out.push_back({seq, std::move(*event)});
    }
  }
  return out;
}

Result<void> PgStore::Impl::read_tile(Tile& tile, unsigned base, std::uint64_t t, std::uint64_t size) {
  auto& hashes = tile.levels[0];
  if (base == 0) {  // the leaves, hashed from the events' own bytes
    const std::uint64_t from = t * kTileWidth + 1;
    const std::uint64_t to = std::min(size, (t + 1) * kTileWidth);
    auto r = each_event_bytes(from, to, "read tree leaves", [&](std::uint64_t, std::string_view bytes) {
      hashes.push_back(tlog::leaf_hash(bytes));
      return true;
    });
    if (!r) return r;
    fold(tile);
    return {};
  }
  auto rows = query("read tree nodes",
                    "SELECT idx, hash FROM keten_log_tree_nodes WHERE level = $1 AND idx >= $2 AND idx < $3"
                    " ORDER BY idx",
                    {std::to_string(base), pg::bigint(t * kTileWidth), pg::bigint((t + 1) * kTileWidth)});
  if (!rows) return rows.error();
  for (const auto& row : *rows) {
    if (static_cast<std::uint64_t>(int_at(row, 0)) != t * kTileWidth + hashes.size()) break;  // a gap
    auto bytes = pg::from_bytea(row[1], "read tree nodes");
    if (!bytes) return bytes.error();
    auto hash = tlog::hash_from_bytes(*bytes, "tree node");
    if (!hash) return storage_error("read tree nodes", hash.error().detail);
    hashes.push_back(*hash);
  }
  fold(tile);
  return {};
}

Result<tlog::Hash> PgStore::Impl::read_node(TileCache& cache, unsigned level, std::uint64_t index, std::uint64_t size) {
  return cache.node(
      level, index, [&](Tile& tile, unsigned base, std::uint64_t t) { return read_tile(tile, base, t, size); },
      "keten_log_tree_nodes");
}

Result<void> PgStore::Impl::write_block() {
  if (pending.empty()) return {};
  std::size_t from = 0;
  while (from < pending.size()) {
    std::size_t to = from + 1;
    std::size_t bytes = pending[from].bytes.size() + 4;
    while (to < pending.size() && bytes + pending[to].bytes.size() + 4 <= pg::kBlockBytes) {
      bytes += pending[to].bytes.size() + 4;
      ++to;
    }
    // The block of pending[from, to): its events appended to the tree, its row, its case index
    // rows (with positions), the stored nodes its appends completed.
    const std::uint64_t first = tree.size() + 1;
    std::string blob;
    blob.reserve(bytes);
    std::map<std::string_view, std::string> positions;
    Result<void> nodes;
    for (std::size_t i = from; i < to; ++i) {
      const auto& p = pending[i];
      const EventPosition at{static_cast<std::uint32_t>(i - from), append_to_block(blob, p.bytes),
                             static_cast<std::uint32_t>(p.bytes.size())};
      if (!p.case_ref.empty()) append_position(positions[p.case_ref], at);
      if (p.started) append_position(positions[pg::kStartsKey], at);  // a broker start concerns every case
      tree.append(tlog::leaf_hash(p.bytes), [&](unsigned level, std::uint64_t index, const tlog::Hash& h) {
        if (level == 0 || level % kTileLevels != 0 || !nodes) return;
        auto r =
            query("append_event (tree node)", "INSERT INTO keten_log_tree_nodes (level, idx, hash) VALUES ($1, $2, $3)",
                  {std::to_string(level), pg::bigint(index),
                   pg::to_bytea(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()))});
        if (!r) nodes = r.error();
      });
    }
    if (!nodes) return nodes;
    auto block = query("append_event (write block)",
                       "INSERT INTO keten_log_blocks (first_seq, count, first_at, last_at, events)"
                       " VALUES ($1, $2, $3, $4, $5)",
                       {pg::bigint(first), std::to_string(to - from), std::to_string(pending[from].at),
                        std::to_string(pending[to - 1].at), pg::to_bytea(blob)});
    if (!block) return block.error();
    for (const auto& [c, at] : positions) {
      auto r = query("append_event (case index)",
                     "INSERT INTO keten_log_case_blocks (case_ref, first_seq, positions) VALUES ($1, $2, $3)",
                     {std::string(c), pg::bigint(first), pg::to_bytea(at)});
      if (!r) return r.error();
    }
    from = to;
  }
  root_hex = contracts::hex_of(tree.root());
  pending.clear();
  wrote_in_transaction = true;
  if (keep_committed) {
    std::move(unwritten_kept.begin(), unwritten_kept.end(), std::back_inserter(uncommitted));
    unwritten_kept.clear();
  }
  return {};
}

Result<void> PgStore::Impl::sign_tree(contracts::Millis at) {
  if (!signer) return {};
  const tlog::Checkpoint cp{origin, tree.size(), tree.root(), std::exchange(next_extensions, {})};
  auto note = tlog::sign_checkpoint(cp, *signer);
  if (!note) return storage_error("sign checkpoint", note.error().detail);
  auto r = query("store checkpoint", "INSERT INTO keten_tree_checkpoints (at, size, note) VALUES ($1, $2, $3)",
                 {std::to_string(at), pg::bigint(tree.size()), *note});
  if (!r) return r.error();
  return {};
}

Result<std::uint64_t> PgStore::append_event(events::Event event) {
  if (impl_->conn.is_broken() || !impl_->conn.in_transaction()) {
    // Outside a transaction: one of its own, committed now.
    if (auto r = begin(); !r) return r.error();
    auto seq = append_event(std::move(event));
    if (!seq) {
      rollback();
      return seq;
    }
    if (auto r = commit(); !r) {
      rollback();
      return r.error();
    }
    return seq;
  }
  const std::uint64_t seq = impl_->tree.size() + impl_->pending.size() + 1;
  impl_->pending.push_back(
      Impl::Pending{events::encode_event(event), event.at, event.case_ref, event.kind() == events::Kind::kStarted});
  if (impl_->keep_committed) impl_->unwritten_kept.push_back({seq, std::move(event)});
  return seq;
}

Result<std::vector<events::LoggedEvent>> PgStore::read_events(std::uint64_t from_seq, std::size_t limit) {
  if (auto r = impl_->write_block(); !r) return r.error();  // this transaction's own events too
  if (limit == 0) return std::vector<events::LoggedEvent>();
  from_seq = std::max<std::uint64_t>(from_seq, 1);
  const std::uint64_t to = limit > std::numeric_limits<std::uint64_t>::max() - from_seq
                               ? std::numeric_limits<std::uint64_t>::max()
                               : from_seq + limit - 1;
  return impl_->events_between(from_seq, to, "read_events");
}

Result<std::vector<events::LoggedEvent>> PgStore::read_case_events(std::string_view case_ref) {
  if (auto r = impl_->write_block(); !r) return r.error();
  if (case_ref.empty()) return std::vector<events::LoggedEvent>{};
  return impl_->indexed_events(case_ref, "read_case_events",
                               [&](const events::Event& e) { return e.case_ref == case_ref; });
}

Result<std::vector<events::LoggedEvent>> PgStore::read_started_events() {
  if (auto r = impl_->write_block(); !r) return r.error();
  return impl_->indexed_events(pg::kStartsKey, "read_started_events", is_start);
}

Result<std::optional<events::LoggedEvent>> PgStore::last_started_event() {
  if (auto r = impl_->write_block(); !r) return r.error();
  auto starts = impl_->indexed_events(pg::kStartsKey, "last_started_event", is_start, /*newest_only=*/true);
  if (!starts) return starts.error();
  if (starts->empty()) return std::optional<events::LoggedEvent>();
  return std::optional<events::LoggedEvent>(std::move(starts->back()));
}

Result<std::optional<events::LoggedEvent>> PgStore::accepted_event(std::string_view message_id) {
  if (auto r = impl_->write_block(); !r) return r.error();
  auto rows = impl_->query("accepted_event", "SELECT log_seq FROM keten_messages WHERE message_id = $1",
                           {std::string(message_id)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<events::LoggedEvent>();
  const auto seq = static_cast<std::uint64_t>(int_at(rows->front(), 0));
  if (seq == 0) return std::optional<events::LoggedEvent>();
  auto events = read_events(seq, 1);
  if (!events) return events.error();
  if (events->empty() || events->front().seq != seq || events->front().event.kind() != events::Kind::kAccepted ||
      events->front().event.message_id != message_id) {
    return std::optional<events::LoggedEvent>();
  }
  return std::optional<events::LoggedEvent>(std::move(events->front()));
}

Result<std::uint64_t> PgStore::log_seq_since(Millis at) {
  if (auto r = impl_->write_block(); !r) return r.error();
  std::uint64_t first = 0;  // the oldest event seen so far that is at or after `at`; 0 = none yet
  std::uint64_t below = std::numeric_limits<std::int64_t>::max();
  for (;;) {
    auto rows = impl_->query("log_seq_since",
                             "SELECT first_seq, count, events FROM keten_log_blocks WHERE first_seq < $1"
                             " ORDER BY first_seq DESC LIMIT 16",
                             {pg::bigint(below)});
    if (!rows) return rows.error();
    if (rows->empty()) return first == 0 ? impl_->tree.size() + 1 : first;
    for (const auto& row : *rows) {
      const auto block_first = static_cast<std::uint64_t>(int_at(row, 0));
      const auto count = static_cast<std::uint64_t>(int_at(row, 1));
      auto blob = pg::from_bytea(row[2], "log_seq_since");
      if (!blob) return blob.error();
      auto parts = split_block(block_first, count, *blob);
      if (!parts) return storage_error("log_seq_since", parts.error().detail);
      for (std::uint64_t i = count; i-- > 0;) {
        auto event = decode_stored_event(block_first + i, (*parts)[i], "log_seq_since");
        if (!event) return event.error();
        if (event->at < at) return block_first + i + 1;
        first = block_first + i;
      }
      below = block_first;
    }
  }
}

Result<std::optional<std::string>> PgStore::latest_checkpoint_note() {
  auto rows =
      impl_->query("latest_checkpoint_note", "SELECT note FROM keten_tree_checkpoints ORDER BY id DESC LIMIT 1");
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(rows->front()[0]));
}

Result<std::vector<std::string>> PgStore::read_tree_checkpoints() {
  auto rows = impl_->query("read_tree_checkpoints", "SELECT note FROM keten_tree_checkpoints ORDER BY id");
  if (!rows) return rows.error();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (auto& row : *rows) out.push_back(std::move(row[0]));
  return out;
}

void PgStore::extend_next_checkpoint(std::string line) { impl_->next_extensions.push_back(std::move(line)); }

bool PgStore::sign_uncovered_at_commit() {
  if (!impl_->signer || impl_->tree.size() == 0) return false;
  if (impl_->has_tree_checkpoint && impl_->last_signed_size == impl_->tree.size()) return false;
  impl_->wrote_in_transaction = true;
  return true;
}

std::uint64_t PgStore::tree_size() const { return impl_->tree.size(); }

LogHead PgStore::log_head() const { return LogHead{impl_->tree.size() + impl_->pending.size(), impl_->root_hex}; }

tlog::NodeReader PgStore::tree_reader() {
  auto cache = std::make_shared<TileCache>();
  auto size = std::make_shared<std::optional<std::uint64_t>>();
  Impl* s = impl_.get();
  return [s, cache, size](unsigned level, std::uint64_t index) -> Result<tlog::Hash> {
    if (auto r = s->write_block(); !r) return r.error();
    if (!*size) {
      std::uint64_t n = s->tree.size();
      // Outside a transaction, the log as the database has it now: what another instance (the
      // leader) committed since, so that its newer checkpoints can be proven against.
      if (!s->conn.is_broken() && !s->conn.in_transaction()) {
        auto stored = s->stored_size();
        if (!stored) return stored.error();
        n = std::max(n, *stored);
      }
      *size = n;
    }
    return s->read_node(*cache, level, index, **size);
  };
}

const std::string& PgStore::log_origin() const { return impl_->origin; }

std::optional<tlog::NoteVerifier> PgStore::checkpoint_verifier() const {
  if (!impl_->signer) return std::nullopt;
  return impl_->signer->verifier;
}

}  // namespace broker::store
