#pragma once
// Receipt signatures (docs/handover-log-format.md §5). Version 1 signs one receipt's signed bytes.
// Version 2, what the broker writes now, signs once per commit the root of an RFC 9162 Merkle tree
// whose leaves are the signed bytes of every receipt that commit answers; each receipt carries the
// signature, the number of leaves, its own index and its inclusion proof, so it still checks alone.
// One Ed25519 signature per commit instead of one per message: a signature costs about 20 µs on
// the bench machine, more than any other single step of a message (docs/performance.md, round 14).
// Pure functions; thread-safe.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/tlog/merkle.h"
#include "contracts/envelope.h"

namespace broker::tlog {

// The tree over the signed bytes of `receipts`, in order (at least one): its root, and each
// receipt's inclusion proof as the bytes of Receipt::signed_path.
struct ReceiptTree {
  Hash root{};
  std::vector<std::string> paths;
};
[[nodiscard]] contracts::Result<ReceiptTree> receipt_tree(std::span<const contracts::Receipt* const> receipts);

// Whether receipt.signature is the signature of the key `public_key_hex` (64 hex characters): in
// version 1 over the receipt's signed bytes, in version 2 over the root its inclusion proof leads
// to. False for a missing or malformed signature, proof or key.
bool verify_receipt_signature(const contracts::Receipt& receipt, std::string_view public_key_hex);

}  // namespace broker::tlog
