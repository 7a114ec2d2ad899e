#include "contracts/digest.h"

#include <openssl/sha.h>

namespace contracts {

static_assert(SHA256_DIGEST_LENGTH == std::tuple_size_v<Sha256>);

Sha256 sha256(const void* bytes, std::size_t size) {
  Sha256 hash{};
  SHA256(static_cast<const unsigned char*>(bytes), size, hash.data());
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
