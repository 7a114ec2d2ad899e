#include "contracts/digest.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but EVP's first use loads
// the configuration and the default provider: about 2 ms in every process that hashes, which is
// a twentieth of an inspector's whole case replay (docs/performance.md, "Round 9"). These run the
// same SHA-NI code without any of that, and are ~20 ns a call cheaper than EVP besides.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <stdexcept>

namespace contracts {

static_assert(std::tuple_size_v<Sha256> == SHA256_DIGEST_LENGTH);

Sha256 sha256(const void* bytes, std::size_t size) {
  Sha256 hash{};
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, bytes, size) != 1 || SHA256_Final(hash.data(), &ctx) != 1) {
    // Never seen: a wrong digest must never be used.
    throw std::runtime_error("libcrypto SHA-256 failed");
  }
  return hash;
}

std::string hex_of(const Sha256& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) { return hex_of(sha256(bytes.data(), bytes.size())); }

}  // namespace contracts
