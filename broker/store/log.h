#pragma once
// The store's named logger ("store"). Only main() and tests choose its sinks and level.

namespace spdlog {
class logger;
}

namespace broker::store {

spdlog::logger& log();  // "store"

}  // namespace broker::store
