#include "broker/core/log.h"

#include "contracts/log.h"

namespace broker::core {
spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("broker");
  return logger;
}
}  // namespace broker::core
