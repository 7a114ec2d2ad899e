#include <cstdio>

#include "broker/report/render.h"
#include "contracts/norms.h"

namespace broker::report {

std::string format_share(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
  return buf;
}

std::string format_millis(Millis ms) {
  if (ms < 0) return "-" + format_millis(-ms);
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms < 120'000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  return contracts::format_duration(ms);
}

}  // namespace broker::report
