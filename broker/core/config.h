#pragma once
// Reads `keten serve`'s TOML config into BrokerOptions.

#include <filesystem>

#include "broker/core/options.h"
#include "contracts/error.h"

namespace broker::core {

// Parses and checks the file. Relative paths (store, contracts, key files) resolve against the
// file's folder. On any problem: kConfig whose detail names the file, the key and, for syntax
// errors, the line and column. Unknown keys are problems too (a typo must not pass silently).
[[nodiscard]] contracts::Result<BrokerOptions> load_config(const std::filesystem::path& path);

}  // namespace broker::core
