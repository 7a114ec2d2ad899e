#pragma once
// LogSource: what the evidence tools read a v2 handover log through (one RFC 9162 Merkle tree over
// typed events, docs/handover-log-format.md): the events' canonical bytes in log order with their
// seq, the signed checkpoint notes, and, when the source keeps them, the stored subtree hashes.
// Verification, proofs and bundles (verify_v2.h, log_proofs.h, bundle_v2.h) are written against
// this interface only, so a store, a bundle file and the in-memory log of the tests are the same
// to them. MemoryLogSource is the in-memory one.
//
// Bytes, not decoded events: verification must hash exactly what is stored, and must be able to
// name an event that no longer decodes. A source that only has decoded events may hand back
// events::encode_event of each (decode_event refuses non-canonical bytes, so that is the same).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/events/event.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"
#include "contracts/error.h"

namespace broker::audit {

// One event as stored: its seq (1-based; the leaf index is seq - 1) and its canonical bytes.
struct LogEntry {
  std::uint64_t seq = 0;
  std::string bytes;
  bool operator==(const LogEntry&) const = default;
};

// A store's way to tell a damaged shortcut from a damaged event. A store keeps, beside the events
// and the stored subtree hashes, rows that only speed proofs up (a SQLite file's log_leaves and
// log_node_tiles). When a proof through node_reader() fails, the proof is tried again through
// `from_sources`, which takes none of them; when it holds there, the event is in the log and
// `damaged(seq, tree_size)` names the shortcut rows that proof read and that are wrong.
struct ShortcutCheck {
  tlog::NodeReader from_sources;
  std::function<contracts::Result<std::vector<std::string>>(std::uint64_t seq, std::uint64_t tree_size)> damaged;
};

// A v2 log, read-only. Implementations need not be thread-safe; every call may fail with the
// source's own error (kStorage for a store, kMalformedEnvelope for a damaged file), which callers
// pass on unchanged.
class LogSource {
 public:
  virtual ~LogSource() = default;

  // Up to `limit` entries in log order starting at `from_seq` (>= 1): fewer, or none, past the
  // end. The seq of each is what the source says it is (a store: the block's index range); the
  // verifier checks that they run 1, 2, 3, ... without gaps.
  [[nodiscard]] virtual contracts::Result<std::vector<LogEntry>> read_entries(std::uint64_t from_seq,
                                                                               std::size_t limit) const = 0;
  // Every signed checkpoint note the source holds, oldest first.
  [[nodiscard]] virtual contracts::Result<std::vector<std::string>> read_checkpoints() const = 0;
  // The stored hashes of complete subtrees, when the source keeps them (a store does; a bundle
  // does not). The verifier never trusts them: it uses them only after they reproduce a signed
  // root, to pin a bad event inside a block (verify_v2.h). Borrowed: valid while the source is.
  virtual std::optional<tlog::NodeReader> node_reader() const { return std::nullopt; }
  // When the source keeps shortcut rows beside its stored hashes: how to prove without them and
  // name the damaged ones (ShortcutCheck). Borrowed, as node_reader.
  virtual std::optional<ShortcutCheck> shortcut_check() const { return std::nullopt; }
  // The entries of case `case_ref`, ascending. The default reads the whole log and decodes each
  // event (an event that does not decode is skipped: verification names it); a store answers
  // from its case index.
  [[nodiscard]] virtual contracts::Result<std::vector<LogEntry>> read_case_entries(std::string_view case_ref) const;
  // The `started` events (the broker's starts, which carry no case but concern every case open at
  // the time), ascending. The default reads the whole log; a store answers from its index.
  [[nodiscard]] virtual contracts::Result<std::vector<LogEntry>> read_start_entries() const;
};

// The entries of `case_ref` and the broker's starts, merged in seq order (what a case's replay and
// its bundle hold).
[[nodiscard]] contracts::Result<std::vector<LogEntry>> read_case_and_starts(const LogSource& source,
                                                                            std::string_view case_ref);

// Reads every entry of `source` (in chunks).
[[nodiscard]] contracts::Result<std::vector<LogEntry>> read_all_entries(const LogSource& source);

// A log held in memory: the tests' store. Events are appended in blocks ("commits"), each block
// optionally followed by a checkpoint signed by `signer`, as the broker does. Its subtree hashes
// are computed as entries are appended and kept apart from the entries, like a store's stored
// nodes: the tamper tests edit entries() and checkpoints() directly, and rebuild_nodes() or
// drop_nodes() model a tamperer who also recomputed them, or a source without them.
class MemoryLogSource : public LogSource {
 public:
  MemoryLogSource() = default;

  // Appends the events of one commit; with `signer`, then signs a checkpoint of the new size
  // (origin = the signer's name).
  [[nodiscard]] contracts::Result<void> append_block(const std::vector<events::Event>& block,
                                                     const tlog::NoteSigner* signer);
  // Signs a checkpoint of the tree as appended (the stored nodes, not entries edited since).
  [[nodiscard]] contracts::Result<void> sign_checkpoint(const tlog::NoteSigner& signer);

  std::vector<LogEntry>& entries() { return entries_; }
  const std::vector<LogEntry>& entries() const { return entries_; }
  std::vector<std::string>& checkpoints() { return checkpoints_; }
  const std::vector<std::string>& checkpoints() const { return checkpoints_; }
  // Sets every entry's seq to its position + 1 (a tamperer who renumbers after a deletion).
  void renumber();
  // Recomputes the stored nodes from the entries as they are now.
  void rebuild_nodes();
  // From now on node_reader() returns nullopt (a source that keeps no nodes, like a bundle).
  void drop_nodes() { has_nodes_ = false; }

  contracts::Result<std::vector<LogEntry>> read_entries(std::uint64_t from_seq, std::size_t limit) const override;
  contracts::Result<std::vector<std::string>> read_checkpoints() const override;
  std::optional<tlog::NodeReader> node_reader() const override;

 private:
  std::vector<LogEntry> entries_;
  std::vector<std::string> checkpoints_;
  tlog::MemoryTree nodes_;
  bool has_nodes_ = true;
};

}  // namespace broker::audit
