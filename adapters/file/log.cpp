#include "adapters/file/log.h"

#include "contracts/log.h"

namespace file_adapter {

spdlog::logger& log() {
  static spdlog::logger& logger = contracts::named_logger("file-adapter");
  return logger;
}

}  // namespace file_adapter
