#include "broker/tlog/proof.h"

#include <algorithm>
#include <bit>
#include <optional>

namespace broker::tlog {
namespace {

using contracts::Error;
using contracts::ErrorCode;

std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

Error defect(std::string detail) { return Error{ErrorCode::kMalformedEnvelope, std::move(detail)}; }

std::string n(std::uint64_t value) { return std::to_string(value); }

// The first 8 bytes in hex: enough to tell two hashes apart in an error message.
std::string short_hex(const Hash& hash) { return contracts::hex_of(hash).substr(0, 16); }

bool is_lsb_set(std::uint64_t v) { return (v & 1) != 0; }

// The steps of PATH and SUBPROOF, shared by the generators and the size functions so that a
// verifier's length check can never disagree with what the generator writes. `visit(begin, end)`
// is called for each range whose root goes into the proof, in generation (top-down) order.
template <class Visit>
void walk_inclusion(std::uint64_t index, std::uint64_t size, Visit&& visit) {
  std::uint64_t lo = 0, hi = size;
  while (hi - lo > 1) {
    const std::uint64_t k = split_point(hi - lo);
    if (index < lo + k) {
      visit(lo + k, hi);
      hi = lo + k;
    } else {
      visit(lo, lo + k);
      lo += k;
    }
  }
}

template <class Visit>
void walk_consistency(std::uint64_t m, std::uint64_t n, Visit&& visit) {
  std::uint64_t lo = 0, hi = n, old = m;
  bool whole_old_tree = true;  // SUBPROOF's b: the old tree's root is the verifier's own root_m
  while (old < hi - lo) {
    const std::uint64_t k = split_point(hi - lo);
    if (old <= k) {
      visit(lo + k, hi);
      hi = lo + k;
    } else {
      visit(lo, lo + k);
      old -= k;
      lo += k;
      whole_old_tree = false;
    }
  }
  if (!whole_old_tree) visit(lo, hi);
}

contracts::Result<Proof> collect(const NodeReader& reader, auto walk) {
  Proof proof;
  std::optional<Error> failed;
  walk([&](std::uint64_t begin, std::uint64_t end) {
    if (failed) return;
    auto hash = range_root(begin, end, reader);
    if (!hash) {
      failed = hash.error();
      return;
    }
    proof.push_back(*hash);
  });
  if (failed) return *failed;
  std::reverse(proof.begin(), proof.end());  // RFC order: nearest the leaf first
  return proof;
}

}  // namespace

std::size_t inclusion_proof_size(std::uint64_t index, std::uint64_t size) {
  std::size_t count = 0;
  walk_inclusion(index, size, [&](std::uint64_t, std::uint64_t) { ++count; });
  return count;
}

std::size_t consistency_proof_size(std::uint64_t m, std::uint64_t n) {
  std::size_t count = 0;
  walk_consistency(m, n, [&](std::uint64_t, std::uint64_t) { ++count; });
  return count;
}

contracts::Result<Proof> inclusion_proof(std::uint64_t index, std::uint64_t size, const NodeReader& reader) {
  if (index >= size) return defect("leaf index " + n(index) + " is not below the tree size " + n(size));
  return collect(reader, [&](auto visit) { walk_inclusion(index, size, visit); });
}

contracts::Result<Proof> consistency_proof(std::uint64_t m, std::uint64_t n_, const NodeReader& reader) {
  if (m == 0) return defect("a consistency proof from the empty tree proves nothing (size 0)");
  if (m > n_) return defect("old size " + n(m) + " is above the new size " + n(n_));
  return collect(reader, [&](auto visit) { walk_consistency(m, n_, visit); });
}

contracts::Result<Hash> root_from_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                                            std::span<const Hash> proof) {
  if (index >= size) return defect("leaf index " + n(index) + " is not below the tree size " + n(size));
  const std::size_t want = inclusion_proof_size(index, size);
  if (proof.size() != want) {
    return defect("wrong proof length: " + n(proof.size()) + " hashes, leaf " + n(index) + " of a tree of " +
                  n(size) + " needs " + n(want));
  }
  // RFC 9162 §2.1.3.2, step by step.
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return defect("wrong proof length: the path reaches the root before its last hash");
    if (is_lsb_set(fn) || fn == sn) {
      r = node_hash(p, r);
      if (!is_lsb_set(fn)) {
        while (!is_lsb_set(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return defect("wrong proof length: the path ends below the root");
  return r;
}

contracts::Result<void> verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                                         std::span<const Hash> proof, const Hash& root) {
  auto r = root_from_inclusion(index, size, leaf, proof);
  if (!r) return r.error();
  if (*r != root) {
    return defect("root mismatch: the inclusion proof of leaf " + n(index) + " in a tree of " + n(size) +
                  " leads to " + short_hex(*r) + "…, the tree's root is " + short_hex(root) + "…");
  }
  return {};
}

contracts::Result<void> verify_consistency(std::uint64_t m, std::uint64_t n_, const Hash& root_m,
                                           const Hash& root_n, std::span<const Hash> proof) {
  if (m == 0) return defect("a consistency proof from the empty tree proves nothing (size 0)");
  if (m > n_) return defect("old size " + n(m) + " is above the new size " + n(n_));
  if (m == n_) {
    if (!proof.empty()) return defect("wrong proof length: equal sizes need an empty proof, got " + n(proof.size()) + " hashes");
    if (root_m != root_n) {
      return defect("root mismatch: two trees of size " + n(m) + " with different roots " + short_hex(root_m) +
                    "… and " + short_hex(root_n) + "…");
    }
    return {};
  }
  const std::size_t want = consistency_proof_size(m, n_);
  if (proof.size() != want) {
    return defect("wrong proof length: " + n(proof.size()) + " hashes, sizes " + n(m) + " to " + n(n_) + " need " +
                  n(want));
  }
  // RFC 9162 §2.1.4.2, step by step. Step 2 prepends root_m when m is a power of two.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(m)) path.push_back(root_m);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = m - 1, sn = n_ - 1;
  while (is_lsb_set(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return defect("wrong proof length: the path reaches the new root before its last hash");
    if (is_lsb_set(fn) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!is_lsb_set(fn)) {
        while (!is_lsb_set(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return defect("wrong proof length: the path ends below the new root");
  if (fr != root_m) {
    return defect("old root mismatch: the consistency proof from " + n(m) + " to " + n(n_) + " leads to " +
                  short_hex(fr) + "…, the old root is " + short_hex(root_m) + "…");
  }
  if (sr != root_n) {
    return defect("new root mismatch: from the old root and the proof, sizes " + n(m) + " to " + n(n_) +
                  " lead to " + short_hex(sr) + "…, the new root is " + short_hex(root_n) + "…");
  }
  return {};
}

contracts::Result<Hash> hash_from_bytes(std::string_view bytes, std::string_view what) {
  Hash hash{};
  if (bytes.size() != hash.size()) {
    return defect(std::string(what) + ": wrong hash length: " + n(bytes.size()) + " bytes, a SHA-256 hash has 32");
  }
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

}  // namespace broker::tlog
