#pragma once
// The file adapter's named logger ("file-adapter"). main() chooses its sinks and level.

namespace spdlog {
class logger;
}

namespace file_adapter {

spdlog::logger& log();  // "file-adapter"

}  // namespace file_adapter
