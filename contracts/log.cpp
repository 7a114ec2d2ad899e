#include "contracts/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace contracts {

spdlog::logger& named_logger(const char* name) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(name)) return *existing;
  auto logger = spdlog::stderr_color_mt(name);
  logger->set_level(spdlog::get_level());
  return *logger;
}

spdlog::logger& log() {
  static spdlog::logger& logger = named_logger("contracts");
  return logger;
}

}  // namespace contracts
