#pragma once
// Content digests used on the wire, in the store and in the handover log: SHA-256 through
// OpenSSL's libcrypto, which uses the CPU's SHA extensions where present (about 3.4x libsodium's
// portable SHA-256 on this machine kind; docs/performance.md). The values are plain SHA-256.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace contracts {

using Sha256 = std::array<unsigned char, 32>;

// SHA-256 of `size` bytes at `bytes`.
Sha256 sha256(const void* bytes, std::size_t size);

// Lower-case hex SHA-256 of `bytes`. 64 characters.
std::string sha256_hex(std::string_view bytes);

// Lower-case hex of a digest. 64 characters.
std::string hex_of(const Sha256& digest);

}  // namespace contracts
