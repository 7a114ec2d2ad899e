#include "adapters/sdk/log.h"

#include "contracts/log.h"

namespace partner {

spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("sdk");
  return logger;
}

}  // namespace partner
