#include "broker/ha/log.h"

#include "contracts/log.h"

namespace broker::ha {

spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("ha");
  return logger;
}

}  // namespace broker::ha
