#include "broker/core/clock_status.h"

#include <sys/timex.h>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace broker::core {

ClockStatus clock_status_from(int adjtimex_state, int status, std::int64_t esterror_us, bool timesyncd_flag,
                              const std::string& source) {
  ClockStatus c;
  c.source = source;
  if (adjtimex_state != -1) {
    // STA_UNSYNC is cleared by whichever daemon disciplines the clock (ntpd, chrony, timesyncd);
    // TIME_ERROR says the same from the kernel's side.
    const bool unsynced = (status & STA_UNSYNC) != 0 || adjtimex_state == TIME_ERROR;
    c.sync = unsynced ? "unsynchronized" : "synchronized";
    c.basis = "adjtimex";
    c.estimated_error_us = unsynced ? -1 : esterror_us;
    return c;
  }
  if (timesyncd_flag) {
    c.sync = "synchronized";
    c.basis = "systemd-timesyncd";
    return c;
  }
  c.sync = "unknown";
  c.basis = "adjtimex failed and no systemd-timesyncd flag";
  return c;
}

ClockStatus read_clock_status() {
  struct timex tx {};
  const int state = adjtimex(&tx);
  std::error_code ec;
  const bool flag = std::filesystem::exists("/run/systemd/timesync/synchronized", ec);
  std::string source;
  std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  if (in) std::getline(in, source);
  return clock_status_from(state, tx.status, static_cast<std::int64_t>(tx.esterror), flag, source);
}

}  // namespace broker::core
