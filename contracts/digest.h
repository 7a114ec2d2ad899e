#pragma once
// Content digests used on the wire, in the store and in the handover log.

#include <string>
#include <string_view>

namespace contracts {

// Lower-case hex SHA-256 of `bytes` (libsodium). 64 characters.
std::string sha256_hex(std::string_view bytes);

}  // namespace contracts
