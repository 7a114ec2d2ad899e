#pragma once
namespace spdlog {
class logger;
}
namespace broker::console {
spdlog::logger& log();  // "console"
}
