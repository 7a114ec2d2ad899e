#include "contracts/digest.h"

#include <sodium.h>

#include <array>

namespace contracts {

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> hash{};
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  std::string hex(hash.size() * 2, '\0');
  sodium_bin2hex(hex.data(), hex.size() + 1, hash.data(), hash.size());
  return hex;
}

}  // namespace contracts
