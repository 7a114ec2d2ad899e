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

// Version 3: the receipt's checkpoint (opened by `open`) names the root its path leads to.
template <typename Open>
bool verify_by_checkpoint(const contracts::Receipt& receipt, Open&& open) {
  auto checkpoint = open(receipt.checkpoint);
  if (!checkpoint) return false;
  auto root = tree_root(receipt);
  if (!root) return false;
  const std::string line = receipts_extension(receipt.signed_count, *root);
  return std::find(checkpoint->extensions.begin(), checkpoint->extensions.end(), line) != checkpoint->extensions.end();
}

std::optional<PublicKey> key_from_hex(std::string_view public_key_hex) {
  PublicKey key{};
  std::size_t key_len = 0;
  if (public_key_hex.size() != 2 * key.size() ||
      sodium_hex2bin(key.data(), key.size(), public_key_hex.data(), public_key_hex.size(), nullptr, &key_len,
                     nullptr) != 0 ||
      key_len != key.size()) {
    return std::nullopt;
  }
  return key;
}

bool verify_detached(std::string_view signature, std::string_view message, const PublicKey& key) {
  return signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     key.data()) == 0;
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
  const auto key = key_from_hex(public_key_hex);
  if (!key) return false;
  if (receipt_signature_version(receipt) == 3) {
    return verify_by_checkpoint(receipt, [&](std::string_view note) { return open_checkpoint_by_key(note, *key); });
  }
  const std::string message = signed_message(receipt);
  return !message.empty() && verify_detached(receipt.signature, message, *key);
}

contracts::Result<ReceiptVerifier> ReceiptVerifier::from_hex(std::string_view public_key_hex) {
  const auto key = key_from_hex(public_key_hex);
  if (!key) {
    return contracts::Error{contracts::ErrorCode::kConfig, "the broker signing key is not 64 hex characters: '" +
                                                               std::string(public_key_hex.substr(0, 80)) + "'"};
  }
  return ReceiptVerifier(*key);
}

bool ReceiptVerifier::verify(const contracts::Receipt& receipt) {
  if (receipt_signature_version(receipt) == 3) {
    return verify_by_checkpoint(receipt, [this](std::string_view note) { return open_checkpoint(note); });
  }
  const std::string message = signed_message(receipt);
  return !message.empty() && verified_signature(receipt.signature, message);
}

contracts::Result<Checkpoint> ReceiptVerifier::open_checkpoint(std::string_view note) {
  for (const auto& [known, checkpoint] : notes_) {
    if (known == note) return checkpoint;
  }
  ++signature_checks_;
  auto opened = open_checkpoint_by_key(note, key_);
  if (!opened) return opened;
  if (notes_.size() == kRemembered) notes_.pop_back();
  notes_.emplace_front(std::string(note), *opened);
  return opened;
}

bool ReceiptVerifier::verified_signature(std::string_view signature, std::string_view message) {
  if (signature.size() != crypto_sign_BYTES) return false;  // fixed width: the pair below is unambiguous
  std::string both;
  both.reserve(signature.size() + message.size());
  both.append(signature).append(message);
  if (std::find(signatures_.begin(), signatures_.end(), both) != signatures_.end()) return true;
  ++signature_checks_;
  if (!verify_detached(signature, message, key_)) return false;
  if (signatures_.size() == kRemembered) signatures_.pop_back();
  signatures_.push_front(std::move(both));
  return true;
}

}  // namespace broker::tlog
