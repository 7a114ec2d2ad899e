#pragma once
namespace spdlog {
class logger;
}
namespace broker::core {
spdlog::logger& log();  // "broker"
}
