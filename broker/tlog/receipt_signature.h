#pragma once
// Receipt signatures (docs/handover-log-format.md §5). Version 1 signs one receipt's signed bytes.
// Version 2, what the broker writes now, signs once per commit the root of an RFC 9162 Merkle tree
// whose leaves are the signed bytes of every receipt that commit answers; each receipt carries the
// signature, the number of leaves, its own index and its inclusion proof, so it still checks alone.
// One Ed25519 signature per commit instead of one per message: a signature costs about 20 µs on
// the bench machine, more than any other single step of a message (docs/performance.md, round 14).
// Version 3 needs no signature of its own: the checkpoint note the store signs at that commit
// carries the tree's size and root as an extension line (receipts_extension), and each receipt
// carries that note, its index and its path; one Ed25519 signature per commit for the log and the
// receipts together. Pure functions; thread-safe.

#include <cstdint>
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

// The checkpoint extension line of version 3: "keten-receipts <n> <base64 root>".
std::string receipts_extension(std::uint64_t count, const Hash& root);

// Whether the receipt is signed by the key `public_key_hex` (64 hex characters): in version 1
// receipt.signature over its signed bytes; in version 2 receipt.signature over the root its
// inclusion proof leads to; in version 3 (signed_count > 0, no signature of its own) its
// checkpoint note verifies with the key and holds the receipts extension line of the root its
// proof leads to. False for a missing or malformed signature, note, proof or key.
bool verify_receipt_signature(const contracts::Receipt& receipt, std::string_view public_key_hex);
// Which version signed the receipt (above), 0 when it carries no signature of any version.
int receipt_signature_version(const contracts::Receipt& receipt);

}  // namespace broker::tlog
