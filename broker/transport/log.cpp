#include "broker/transport/log.h"

#include "contracts/log.h"

namespace broker::transport {
spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("transport");
  return logger;
}
}  // namespace broker::transport
