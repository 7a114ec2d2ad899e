#pragma once
// Named spdlog loggers. Each library reaches its own through its log.h (`contracts::log()`,
// `broker::store::log()`, ...), which calls named_logger once. Only main() and tests pick sinks
// and levels; loggers made here write to stderr and follow spdlog's global level.

namespace spdlog {
class logger;
}

namespace contracts {

// The logger called `name`, created on first use (thread-safe). Lives until exit.
spdlog::logger& named_logger(const char* name);

spdlog::logger& log();  // "contracts"

}  // namespace contracts
