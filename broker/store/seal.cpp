#include "broker/store/seal.h"

#include <pthread.h>
#include <sodium.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "broker/audit/signing.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kPayloadKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES ==
              kSealOverheadBytes);

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

Error seal_error(std::string detail) { return Error{ErrorCode::kStorage, std::move(detail)}; }

Result<void> check_key(std::string_view key) {
  if (key.size() != kPayloadKeyBytes) {
    return seal_error("payload key must be " + std::to_string(kPayloadKeyBytes) + " bytes, not " +
                      std::to_string(key.size()));
  }
  if (sodium_init() < 0) return seal_error("libsodium failed to initialise");
  return {};
}

// Nonces: 16 random bytes drawn once per thread, then a 64-bit count (little-endian), so that a
// seal costs no system call (randombytes_buf made one getrandom per payload: 1.6 % of the broker's
// CPU under load). Under one key no two seals share a nonce: within a thread the count differs,
// and two threads or processes draw their 128-bit prefixes independently (a collision is as likely
// as guessing a random 128-bit value). A child process after fork() would inherit its parent's
// prefix and count, and so repeat its nonces: fork bumps a generation that makes every thread draw
// a new prefix before its next seal.
std::atomic<std::uint64_t> fork_generation{0};

void nonce_after_fork() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

void next_nonce(unsigned char* nonce) {
  static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 16 + 8);
  static std::once_flag registered;
  std::call_once(registered, [] { ::pthread_atfork(nullptr, nullptr, nonce_after_fork); });
  struct State {
    unsigned char prefix[16];
    std::uint64_t count = 0;
    std::uint64_t generation = ~std::uint64_t{0};  // none drawn yet
  };
  thread_local State state;
  const std::uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (state.generation != generation || state.count == ~std::uint64_t{0}) {
    randombytes_buf(state.prefix, sizeof state.prefix);
    state.count = 0;
    state.generation = generation;
  }
  std::memcpy(nonce, state.prefix, sizeof state.prefix);
  const std::uint64_t n = state.count++;
  for (int i = 0; i < 8; ++i) nonce[16 + i] = static_cast<unsigned char>(n >> (8 * i));
}

void put_field(std::string& out, std::string_view field) {
  const std::uint64_t n = field.size();
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(field);
}

}  // namespace

std::string generate_payload_key_hex() {
  if (sodium_init() < 0) return {};
  std::string key(kPayloadKeyBytes, '\0');
  crypto_aead_xchacha20poly1305_ietf_keygen(reinterpret_cast<unsigned char*>(key.data()));
  std::string hex = audit::to_hex(key);
  sodium_memzero(key.data(), key.size());
  return hex;
}

Result<std::string> payload_key_from_hex(std::string_view hex) {
  std::string bytes;
  if (hex.size() != 2 * kPayloadKeyBytes || !audit::from_hex(hex, bytes) || bytes.size() != kPayloadKeyBytes) {
    return Error{ErrorCode::kConfig, "payload key must be " + std::to_string(2 * kPayloadKeyBytes) +
                                         " hex characters (`keten keygen broker --payload`), got " +
                                         std::to_string(hex.size()) + " characters"};
  }
  return bytes;
}

std::string payload_associated_data(std::string_view message_id, std::string_view payload_digest) {
  std::string out = "keten.payload.v1";
  put_field(out, message_id);
  put_field(out, payload_digest);
  return out;
}

Result<std::string> seal_payload(std::string_view key, std::string_view plaintext, std::string_view associated_data) {
  if (auto r = check_key(key); !r) return r.error();
  std::string out(
      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES,
      '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  next_nonce(nonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
                                             u8(plaintext), plaintext.size(), u8(associated_data),
                                             associated_data.size(), nullptr, nonce, u8(key));
  out.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + written);
  return out;
}

Result<std::string> open_payload(std::string_view key, std::string_view sealed, std::string_view associated_data) {
  if (auto r = check_key(key); !r) return r.error();
  if (sealed.size() < kSealOverheadBytes) {
    return seal_error("sealed payload is " + std::to_string(sealed.size()) + " bytes, shorter than the " +
                      std::to_string(kSealOverheadBytes) + " bytes of nonce and tag");
  }
  const auto* nonce = u8(sealed);
  const std::string_view box = sealed.substr(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  std::string out(box.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &written, nullptr,
                                                 u8(box), box.size(), u8(associated_data), associated_data.size(),
                                                 nonce, u8(key)) != 0) {
    return seal_error("sealed payload does not open: wrong payload key, or the row was altered or moved");
  }
  out.resize(written);
  return out;
}

std::string generate_case_key() {
  if (sodium_init() < 0) return {};
  std::string key(kPayloadKeyBytes, '\0');
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string case_key_associated_data(std::string_view case_ref, std::string_view message_id) {
  std::string out = "keten.case_key.v1";
  put_field(out, case_ref);
  put_field(out, message_id);
  return out;
}

std::string payload_key_id(std::string_view key) {
  if (key.size() != kPayloadKeyBytes || sodium_init() < 0) return {};
  constexpr std::string_view kLabel = "keten.payload_key_id.v1";
  unsigned char out[8];
  crypto_generichash(out, sizeof out, u8(kLabel), kLabel.size(), u8(key), key.size());
  return audit::to_hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

std::string norm_key_digest(std::string_view hash_key, std::string_view value) {
  if (hash_key.size() != kPayloadKeyBytes || sodium_init() < 0) return {};
  unsigned char out[32];
  crypto_generichash(out, sizeof out, u8(value), value.size(), u8(hash_key), hash_key.size());
  return std::string(kNormKeyDigestPrefix) +
         audit::to_hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

void wipe(std::string& secret) {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

namespace {
constexpr std::string_view kKeyCheckText = "keten.payload_key_check.v1";
}  // namespace

Result<std::string> make_key_check(std::string_view key) {
  auto sealed = seal_payload(key, kKeyCheckText, kKeyCheckText);
  if (!sealed) return sealed.error();
  return audit::to_hex(*sealed);
}

bool key_check_opens(std::string_view key, std::string_view check_hex) {
  std::string sealed;
  if (!audit::from_hex(check_hex, sealed)) return false;
  auto plain = open_payload(key, sealed, kKeyCheckText);
  return plain && *plain == kKeyCheckText;
}

}  // namespace broker::store
