#pragma once
namespace spdlog {
class logger;
}
namespace broker::transport {
spdlog::logger& log();  // "transport"
}
