#pragma once
// CPU time and memory of a process, from Linux /proc (another process) or getrusage (this one).
// The parsers are pure and unit-tested; the readers do the I/O.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "bench/report.h"

namespace bench {

// utime + stime in seconds from the text of /proc/<pid>/stat (fields 14 and 15, counted after the
// ")" that ends the command name, which may itself hold spaces and parentheses).
std::optional<double> cpu_seconds_from_stat(std::string_view stat_text, long ticks_per_second);

// A "Key:   1234 kB" line of /proc/<pid>/status (VmHWM, VmRSS) in bytes.
std::optional<std::uint64_t> status_kib_field(std::string_view status_text, std::string_view key);

// Reads /proc/<pid>/stat and /proc/<pid>/status; known = false when the process is gone.
ProcessUsage read_process_usage(pid_t pid);

// This process, by getrusage(RUSAGE_SELF) (CPU of every thread, peak RSS).
ProcessUsage self_usage();

}  // namespace bench
