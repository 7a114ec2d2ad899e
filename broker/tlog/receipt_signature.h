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
// receipts together. The free functions are pure and thread-safe; a ReceiptVerifier belongs to one
// reader.

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/tlog/checkpoint.h"
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

// verify_receipt_signature and open_checkpoint_by_key for one broker key, remembering the last few
// checkpoint notes and version-2 signatures that verified, by their exact bytes. The receipts of
// one commit all carry the same note (or the same signature over the same root), so a reader that
// checks every receipt, as the SDK does, makes one Ed25519 verification per commit instead of one
// or two per receipt (about 40 µs each on the bench machine; docs/performance.md, round 16).
// A failed verification is never remembered. Not thread-safe: one per reader.
class ReceiptVerifier {
 public:
  // kConfig when `public_key_hex` is not 64 hex characters.
  [[nodiscard]] static contracts::Result<ReceiptVerifier> from_hex(std::string_view public_key_hex);

  // verify_receipt_signature with this key.
  [[nodiscard]] bool verify(const contracts::Receipt& receipt);
  // open_checkpoint_by_key with this key.
  [[nodiscard]] contracts::Result<Checkpoint> open_checkpoint(std::string_view note);
  // Ed25519 verifications made so far (what remembering saves).
  [[nodiscard]] std::uint64_t signature_checks() const { return signature_checks_; }

 private:
  explicit ReceiptVerifier(const PublicKey& key) : key_(key) {}
  bool verified_signature(std::string_view signature, std::string_view message);

  static constexpr std::size_t kRemembered = 4;
  PublicKey key_{};
  std::uint64_t signature_checks_ = 0;
  std::deque<std::pair<std::string, Checkpoint>> notes_;  // newest first
  std::deque<std::string> signatures_;                    // signature || message, newest first
};

}  // namespace broker::tlog
