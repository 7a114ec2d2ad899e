#include "broker/store/log.h"

#include "contracts/log.h"

namespace broker::store {

spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("store");
  return logger;
}

}  // namespace broker::store
