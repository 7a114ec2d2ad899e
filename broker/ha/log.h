#pragma once
// The HA library's named logger ("ha"). Only main() and tests choose its sinks and level.

namespace spdlog {
class logger;
}

namespace broker::ha {

spdlog::logger& log();  // "ha"

}  // namespace broker::ha
