#include "broker/tlog/receipt_signature.h"

#include <sodium.h>

#include <algorithm>
#include <optional>

#include "broker/tlog/base64.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/proof.h"

namespace broker::tlog {
namespace {

std::string_view bytes_of(const Hash& hash) { return {reinterpret_cast<const char*>(hash.data()), hash.size()}; }

// The root of the receipt tree (versions 2 and 3) that the receipt's path leads to.
std::optional<Hash> tree_root(const contracts::Receipt& receipt) {
  if (receipt.signed_path.size() % Hash{}.size() != 0) return std::nullopt;
  Proof proof(receipt.signed_path.size() / Hash{}.size());
  for (std::size_t i = 0; i < proof.size(); ++i) {
    auto hash = hash_from_bytes(std::string_view(receipt.signed_path).substr(i * Hash{}.size(), Hash{}.size()), "path");
    if (!hash) return std::nullopt;
    proof[i] = *hash;
  }
  auto root = root_from_inclusion(receipt.signed_index, receipt.signed_count,
                                  leaf_hash(contracts::receipt_signed_bytes(receipt)), proof);
  if (!root) return std::nullopt;
  return *root;
}

// The message a receipt's own signature covers (versions 1 and 2), or "" when its proof does not
// lead to a root.
std::string signed_message(const contracts::Receipt& receipt) {
  if (receipt.signed_count == 0) return receipt.signed_path.empty() ? contracts::receipt_signed_bytes(receipt) : "";
  auto root = tree_root(receipt);
  if (!root) return "";
  return contracts::receipt_tree_signed_bytes(receipt.signed_count, bytes_of(*root));
}

// Version 3: the receipt's checkpoint verifies with the key and names the root its path leads to.
bool verify_by_checkpoint(const contracts::Receipt& receipt, const PublicKey& key) {
  auto checkpoint = open_checkpoint_by_key(receipt.checkpoint, key);
  if (!checkpoint) return false;
  auto root = tree_root(receipt);
  if (!root) return false;
  const std::string line = receipts_extension(receipt.signed_count, *root);
  return std::find(checkpoint->extensions.begin(), checkpoint->extensions.end(), line) != checkpoint->extensions.end();
}

}  // namespace

contracts::Result<ReceiptTree> receipt_tree(std::span<const contracts::Receipt* const> receipts) {
  MemoryTree tree;
  for (const contracts::Receipt* receipt : receipts) tree.append(contracts::receipt_signed_bytes(*receipt));
  ReceiptTree out;
  out.root = tree.root();
  out.paths.reserve(receipts.size());
  const NodeReader reader = tree.reader();
  for (std::uint64_t i = 0; i < receipts.size(); ++i) {
    auto proof = inclusion_proof(i, receipts.size(), reader);
    if (!proof) return proof.error();
    std::string& path = out.paths.emplace_back();
    path.reserve(proof->size() * Hash{}.size());
    for (const Hash& hash : *proof) path += bytes_of(hash);
  }
  return out;
}

std::string receipts_extension(std::uint64_t count, const Hash& root) {
  return "keten-receipts " + std::to_string(count) + " " + to_base64(bytes_of(root));
}

int receipt_signature_version(const contracts::Receipt& receipt) {
  if (!receipt.signature.empty()) return receipt.signed_count == 0 ? 1 : 2;
  return receipt.signed_count > 0 && !receipt.checkpoint.empty() ? 3 : 0;
}

bool verify_receipt_signature(const contracts::Receipt& receipt, std::string_view public_key_hex) {
  unsigned char key[crypto_sign_PUBLICKEYBYTES];
  std::size_t key_len = 0;
  if (public_key_hex.size() != 2 * sizeof key ||
      sodium_hex2bin(key, sizeof key, public_key_hex.data(), public_key_hex.size(), nullptr, &key_len, nullptr) != 0 ||
      key_len != sizeof key) {
    return false;
  }
  if (receipt_signature_version(receipt) == 3) {
    PublicKey public_key{};
    std::copy(std::begin(key), std::end(key), public_key.begin());
    return verify_by_checkpoint(receipt, public_key);
  }
  if (receipt.signature.size() != crypto_sign_BYTES) return false;
  const std::string message = signed_message(receipt);
  if (message.empty()) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(receipt.signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(), key) == 0;
}

}  // namespace broker::tlog
