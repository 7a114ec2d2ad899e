#pragma once
// MemoryTree: a Merkle tree that keeps every complete aligned subtree's hash in memory, so it can
// serve any root, inclusion proof or consistency proof at any size up to its own. What a store
// does on disk, in RAM: for tests, tools and the proof files of small logs (2n hashes for n
// leaves). Movable value; not synchronised. The NodeReader from reader() borrows the tree: it
// must not outlive it, and the tree must not be appended to while a proof is being generated.

#include <cstdint>
#include <string_view>
#include <vector>

#include "broker/tlog/merkle.h"

namespace broker::tlog {

class MemoryTree {
 public:
  // Appends one entry (its bytes; the leaf hash is computed here) or one leaf hash.
  void append(std::string_view entry) { append_hash(leaf_hash(entry)); }
  void append_hash(const Hash& leaf);

  std::uint64_t size() const { return tree_.size(); }
  // The root at the current size (empty_root() when empty).
  Hash root() const { return tree_.root(); }
  // The root of the first `size` leaves; kMalformedEnvelope when size is above size().
  [[nodiscard]] contracts::Result<Hash> root_at(std::uint64_t size) const;
  // Reads complete subtree hashes; kMalformedEnvelope for a node not (yet) complete.
  NodeReader reader() const;

 private:
  CompactTree tree_;
  std::vector<std::vector<Hash>> levels_;  // levels_[level][index]
};

}  // namespace broker::tlog
