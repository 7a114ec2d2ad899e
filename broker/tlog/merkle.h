#pragma once
// Merkle tree hashing as RFC 9162 §2.1 defines it: leaf and interior node hashes, the root (MTH)
// of a list of leaves, and CompactTree, the incremental tree the broker keeps in memory. Byte for
// byte in docs/transparency-log.md. Pure functions and value types; thread-safe.
//
// Node addressing. Every node of the tree that is the root of a *complete, aligned* subtree is
// named (level, index): it covers the 2^level leaves [index * 2^level, (index + 1) * 2^level).
// Level 0 nodes are the leaf hashes. Such a node never changes once its last leaf is appended,
// so a store may keep it forever; every other node of a tree of size n (those on the right edge,
// covering a range that ends at n) is recomputed from at most log2(n) complete ones.

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "contracts/digest.h"
#include "contracts/error.h"

namespace broker::tlog {

using Hash = contracts::Sha256;  // 32 bytes of SHA-256

// SHA-256(0x00 || bytes): the hash of one leaf (one log entry's bytes).
Hash leaf_hash(std::string_view bytes);
// SHA-256(0x01 || left || right): the hash of an interior node.
Hash node_hash(const Hash& left, const Hash& right);
// SHA-256 of no bytes: the root of the empty tree.
Hash empty_root();

// MTH over `leaves` (already leaf hashes), split at the largest power of two below the count.
// O(n) hashing; for tests and small trees. CompactTree gives the same root incrementally.
Hash root_of(std::span<const Hash> leaves);

// Reads the hash of the complete aligned subtree (level, index) (see above). The store answers
// from what it keeps; an error (e.g. kStorage) is passed through unchanged to the caller of the
// function that asked. Called only for nodes inside the tree size the caller gave.
using NodeReader = std::function<contracts::Result<Hash>(unsigned level, std::uint64_t index)>;

// MTH of the leaves [begin, end) (begin < end), read through `reader`: one read when the range
// is a complete aligned subtree, else split as RFC 9162 does. For a range ending at the tree's
// size that is at most log2(end - begin) + 1 reads.
[[nodiscard]] contracts::Result<Hash> range_root(std::uint64_t begin, std::uint64_t end,
                                                 const NodeReader& reader);

// Called once for every complete aligned subtree an append completes, lowest level first:
// level 0 is the leaf itself. A store that keeps every such node can answer any NodeReader.
using NodeSink = std::function<void(unsigned level, std::uint64_t index, const Hash& hash)>;

// The tree's "frontier" (a compact range over [0, size)): one hash per set bit of size, the
// roots of the complete subtrees that make up the tree, largest first. Appending a leaf is O(1)
// amortised (one node hash per carried bit); root() folds at most log2(size) hashes. A value
// type; not synchronised (one owner, as the store's writer).
class CompactTree {
 public:
  CompactTree() = default;

  // The tree of `size` leaves whose frontier is `frontier` (largest subtree first), e.g. read
  // back from a store. kMalformedEnvelope when the count is not the number of set bits of size.
  [[nodiscard]] static contracts::Result<CompactTree> from_frontier(std::uint64_t size,
                                                                    std::vector<Hash> frontier);
  // The tree of `size` leaves with its frontier read through `reader` (popcount(size) reads).
  [[nodiscard]] static contracts::Result<CompactTree> restore(std::uint64_t size, const NodeReader& reader);
  // The (level, index) of each frontier node of a tree of `size` leaves, largest first.
  static std::vector<std::pair<unsigned, std::uint64_t>> frontier_nodes(std::uint64_t size);

  // Appends one leaf hash (see leaf_hash). `sink`, when given, sees each completed subtree.
  void append(const Hash& leaf, const NodeSink& sink = {});
  // MTH of the leaves appended so far; empty_root() when there are none.
  Hash root() const;
  std::uint64_t size() const { return size_; }
  const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> frontier_;
};

}  // namespace broker::tlog
