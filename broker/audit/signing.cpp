#include "broker/audit/signing.h"
#include "broker/tlog/receipt_signature.h"
#include "contracts/canonical.h"

#include <sodium.h>

#include <fstream>

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;

using contracts::canonical::put_int;
using contracts::canonical::put_text;

const unsigned char* u8(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

bool is_hex64(std::string_view text) {
  std::string bytes;
  return text.size() == 64 && from_hex(text, bytes);
}

SigningKey from_seed(const std::string& seed) {
  SigningKey key;
  key.seed = seed;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, u8(seed));
  key.secret.assign(reinterpret_cast<const char*>(sk), sizeof sk);
  key.public_hex = to_hex(std::string_view(reinterpret_cast<const char*>(pk), sizeof pk));
  sodium_memzero(sk, sizeof sk);
  return key;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  std::string hex(bytes.size() * 2, '\0');
  sodium_bin2hex(hex.data(), hex.size() + 1, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return hex;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;  // lower case only
  }
  out.assign(hex.size() / 2, '\0');
  std::size_t len = 0;
  return sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(),
                        nullptr, &len, nullptr) == 0 &&
         len == out.size();
}

SigningKey generate_signing_key() {
  if (sodium_init() < 0) return {};
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed);
}

contracts::Result<SigningKey> signing_key_from_hex(std::string_view hex) {
  std::string seed;
  if (hex.size() != 2 * crypto_sign_SEEDBYTES || !from_hex(hex, seed)) {
    return Error{ErrorCode::kConfig, "a signing key is 64 lower-case hex characters (keten keygen --signing)"};
  }
  return from_seed(seed);
}

std::string seed_hex(const SigningKey& key) { return to_hex(key.seed); }

contracts::Result<std::string> read_hex_key(std::string_view value, const std::filesystem::path& base) {
  std::string text(trim(value));
  if (!is_hex64(text)) {
    std::filesystem::path path(text);
    if (path.is_relative()) path = base / path;
    std::ifstream in(path);
    if (!in) return Error{ErrorCode::kConfig, "neither 64 hex characters nor a readable file: " + path.string()};
    std::string line;
    std::getline(in, line);
    text = std::string(trim(line));
    if (!is_hex64(text)) return Error{ErrorCode::kConfig, path.string() + ": first line is not 64 hex characters"};
  }
  return text;
}

std::string checkpoint_message(std::uint64_t log_seq, Millis at, std::string_view head_hash) {
  std::string out;
  put_text(out, "keten.checkpoint.v1");
  put_int(out, static_cast<std::int64_t>(log_seq));
  put_int(out, at);
  put_text(out, head_hash);
  return out;
}

Checkpoint sign_checkpoint(const SigningKey& key, std::uint64_t log_seq, std::string_view head_hash, Millis at) {
  Checkpoint cp;
  cp.at = at;
  cp.log_seq = log_seq;
  cp.head_hash = std::string(head_hash);
  cp.public_key = key.public_hex;
  const std::string message = checkpoint_message(log_seq, at, head_hash);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, u8(message), message.size(), u8(key.secret));
  cp.signature = to_hex(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
  return cp;
}

bool verify_checkpoint(const Checkpoint& cp) {
  std::string key, sig;
  if (!from_hex(cp.public_key, key) || key.size() != crypto_sign_PUBLICKEYBYTES) return false;
  if (!from_hex(cp.signature, sig) || sig.size() != crypto_sign_BYTES) return false;
  const std::string message = checkpoint_message(cp.log_seq, cp.at, cp.head_hash);
  return crypto_sign_verify_detached(u8(sig), u8(message), message.size(), u8(key)) == 0;
}

void sign_receipt_alone(const SigningKey& key, contracts::Receipt& receipt) {
  if (key.empty()) return;
  const std::string message = contracts::receipt_signed_bytes(receipt);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, u8(message), message.size(), u8(key.secret));
  receipt.signature.assign(reinterpret_cast<const char*>(sig), sizeof sig);
  receipt.signed_count = 0;
  receipt.signed_index = 0;
  receipt.signed_path.clear();
}

contracts::Result<void> sign_receipts(const SigningKey& key, std::span<contracts::Receipt* const> receipts) {
  if (key.empty() || receipts.empty()) return {};
  auto tree = tlog::receipt_tree(receipts);
  if (!tree) return tree.error();
  const std::string message = contracts::receipt_tree_signed_bytes(
      receipts.size(), std::string_view(reinterpret_cast<const char*>(tree->root.data()), tree->root.size()));
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, u8(message), message.size(), u8(key.secret));
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    contracts::Receipt& receipt = *receipts[i];
    receipt.signature.assign(reinterpret_cast<const char*>(sig), sizeof sig);
    receipt.signed_count = static_cast<std::uint32_t>(receipts.size());
    receipt.signed_index = static_cast<std::uint32_t>(i);
    receipt.signed_path = std::move(tree->paths[i]);
  }
  return {};
}

contracts::Result<void> sign_receipt(const SigningKey& key, contracts::Receipt& receipt) {
  contracts::Receipt* one[] = {&receipt};
  return sign_receipts(key, one);
}

}  // namespace broker::audit
