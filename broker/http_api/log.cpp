#include "broker/http_api/log.h"

#include "contracts/log.h"

namespace broker::http_api {
spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("http-api");
  return logger;
}
}  // namespace broker::http_api
