#include "broker/console/log.h"

#include "contracts/log.h"

namespace broker::console {
spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("console");
  return logger;
}
}  // namespace broker::console
