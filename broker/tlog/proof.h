#pragma once
// Inclusion and consistency proofs of RFC 9162 §2.1.3 and §2.1.4: generated from node hashes read
// through a NodeReader (merkle.h), verified with the RFC's algorithms (§2.1.3.2, §2.1.4.2).
// Pure functions; thread-safe as long as the reader is. docs/transparency-log.md gives the bytes.
//
// Storage. Generation reads only complete aligned subtrees (level, index): an inclusion proof
// in a tree of n leaves reads at most 2·log2(n) of them (its siblings, and the complete subtrees
// of the one sibling on the right edge), a consistency proof about as many. A store that keeps
// the hash of every complete subtree (as trillian-tessera's tiles do: per 2^8 leaves, the 8
// levels of hashes above them in one row) answers any proof on a 10M-leaf log with O(log n)
// reads, never touching the leaves themselves.
//
// Errors. Every failure is kMalformedEnvelope with a detail naming the defect (an index or size
// out of range, the wrong number of hashes, a hash of the wrong length, the computed root against
// the expected one), except that an error of the NodeReader is passed through unchanged.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "broker/tlog/merkle.h"

namespace broker::tlog {

using Proof = std::vector<Hash>;  // from the leaf's (or old tree's) side up to the root

// The number of hashes in the inclusion proof of leaf `index` in a tree of `size` (index < size).
std::size_t inclusion_proof_size(std::uint64_t index, std::uint64_t size);
// The number of hashes in the consistency proof from size `m` to size `n` (0 < m <= n).
std::size_t consistency_proof_size(std::uint64_t m, std::uint64_t n);

// PATH(index, D[0:size]) of RFC 9162 §2.1.3.1. kMalformedEnvelope when index >= size.
[[nodiscard]] contracts::Result<Proof> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                       const NodeReader& reader);
// PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1: empty when m == n. kMalformedEnvelope unless 0 < m <= n.
[[nodiscard]] contracts::Result<Proof> consistency_proof(std::uint64_t m, std::uint64_t n,
                                                         const NodeReader& reader);

// The root that `proof` leads to from leaf `index` (its hash `leaf`) in a tree of `size`
// (RFC 9162 §2.1.3.2 without the last comparison): kMalformedEnvelope when the proof has the
// wrong length for that index and size. For a root that is then checked some other way, as a
// receipt's is by the signature over it (receipt_signature.h).
[[nodiscard]] contracts::Result<Hash> root_from_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                                                          std::span<const Hash> proof);
// Ok when `proof` shows that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves
// whose root is `root`. An error names the defect: index not below size, the wrong number of
// hashes, or the root the proof leads to when it is not `root`.
[[nodiscard]] contracts::Result<void> verify_inclusion(std::uint64_t index, std::uint64_t size,
                                                       const Hash& leaf, std::span<const Hash> proof,
                                                       const Hash& root);
// Ok when `proof` shows that the tree of `m` leaves with root `root_m` is a prefix of the tree
// of `n` leaves with root `root_n`. m == n needs an empty proof and equal roots. A proof from the
// empty tree (m == 0) is refused: it would prove nothing. An error names the defect: sizes out
// of order, the wrong number of hashes, or which of the two roots the proof does not lead to.
[[nodiscard]] contracts::Result<void> verify_consistency(std::uint64_t m, std::uint64_t n, const Hash& root_m,
                                                         const Hash& root_n, std::span<const Hash> proof);

// A hash from raw bytes (e.g. decoded from a file): kMalformedEnvelope naming `what` and the
// length unless there are exactly 32 bytes.
[[nodiscard]] contracts::Result<Hash> hash_from_bytes(std::string_view bytes, std::string_view what);

}  // namespace broker::tlog
