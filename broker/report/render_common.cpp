#include <cstdio>

#include "broker/report/render.h"
#include "contracts/norms.h"
#include "contracts/time.h"

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

std::string violation_line(const ViolationLine& v) {
  auto at = [](Millis t) { return t == 0 ? std::string("?") : contracts::format_rfc3339(t); };
  std::string line = v.contract + " " + v.norm + " (message " + v.message_id.substr(0, 8) +
                     (v.producer.empty() ? "" : ", from " + v.producer) + "): " +
                     (v.late_party.empty() ? std::string("(not named)") : v.late_party) + " late";
  if (!v.expected_contract.empty()) line += " with " + v.expected_contract;
  line += "; due " + at(v.due_at);
  line += v.open ? "; still open at " + at(v.recorded_at) + ", " + format_millis(v.late_by) + " overdue"
                 : "; met late at " + at(v.done_at) + ", " + format_millis(v.late_by) + " late";
  return line;
}

}  // namespace broker::report
