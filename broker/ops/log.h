#pragma once
namespace spdlog {
class logger;
}
namespace broker::ops {
spdlog::logger& log();  // "ops"
}
