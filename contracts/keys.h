#pragma once
// Curve keys in configuration: given inline as 40 Z85 characters, or as a path to a file holding
// one (as `keten keygen` writes them).

#include <filesystem>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace contracts {

// True when `text` is 40 characters of the Z85 alphabet that decode to 32 bytes.
bool looks_like_z85_key(std::string_view text);

// The first line of the file `value` names (relative paths against `base`) when that file exists,
// otherwise `value` itself when it is a Z85 key. kConfig saying what is wrong when it is neither.
[[nodiscard]] Result<std::string> read_key(std::string_view value, const std::filesystem::path& base);

}  // namespace contracts
