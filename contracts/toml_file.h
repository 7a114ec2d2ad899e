#pragma once
// The one TOML reader every Keten config goes through (broker config, console access list, partner
// profile, file and e-mail adapter configs, CSV mappings, `keten contracts lint`), so a file that is
// not TOML is reported the same way everywhere:
//   Error{kConfig, "<origin>:<line>:<column>: <toml++'s description>"}
// and a file that cannot be read as Error{kConfig, "<path>: cannot open (<reason>)"} (or "is a
// directory"). toml++'s exceptions stay
// inside toml_file.cpp.
//
// This header includes toml++: include it only from the .cpp files that read a config, never from
// another header.

#include <toml++/toml.h>

#include <filesystem>
#include <string_view>

#include "contracts/error.h"

namespace contracts {

// Parses `text`; `origin` (a path, or a name such as "adapter.toml") names it in errors and in the
// parsed nodes' source().
[[nodiscard]] Result<toml::table> parse_toml(std::string_view text, std::string_view origin);

// Reads file `path` and parses it (origin = the path as given).
[[nodiscard]] Result<toml::table> read_toml_file(const std::filesystem::path& path);

}  // namespace contracts
