#pragma once
namespace spdlog {
class logger;
}
namespace broker::http_api {
spdlog::logger& log();  // "http-api"
}
