#pragma once
// The broker's clock as the `started` event records it: which clock source the kernel uses and
// whether the system clock is synchronised (by NTP, chrony or systemd-timesyncd), so an inspector
// can judge the log's times. Reading it never fails: what could not be read is "unknown".

#include <cstdint>
#include <string>

namespace broker::core {

struct ClockStatus {
  std::string source;  // kernel clock source ("tsc", "kvm-clock", ...); "" when unreadable
  std::string sync;    // "synchronized", "unsynchronized" or "unknown"
  std::string basis;   // what was read: "adjtimex", "systemd-timesyncd", or why nothing could be
  std::int64_t estimated_error_us = -1;  // adjtimex's estimate; -1 when unknown
};

// What the kernel says: adjtimex(2) (STA_UNSYNC), else /run/systemd/timesync/synchronized, and
// /sys/devices/system/clocksource/clocksource0/current_clocksource. Any thread.
ClockStatus read_clock_status();

// The decision on its own, for tests: `adjtimex_state` is adjtimex's return (-1 = it failed),
// `status` its timex.status bits, `timesyncd_flag` whether the timesyncd flag file exists.
ClockStatus clock_status_from(int adjtimex_state, int status, std::int64_t esterror_us, bool timesyncd_flag,
                              const std::string& source);

}  // namespace broker::core
