#include "broker/ops/log.h"

#include "contracts/log.h"

namespace broker::ops {
spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("ops");
  return logger;
}
}  // namespace broker::ops
