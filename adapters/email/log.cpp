#include "adapters/email/log.h"

#include "contracts/log.h"

namespace email {

spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("email-adapter");
  return logger;
}

}  // namespace email
