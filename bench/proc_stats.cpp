#include "bench/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace bench {
namespace {

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<double> cpu_seconds_from_stat(std::string_view text, long ticks_per_second) {
  auto close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  // After ")": field 3 (state) is the first; utime is field 14, stime field 15.
  std::uint64_t utime = 0, stime = 0;
  int field = 2;
  std::size_t pos = 0;
  while (pos < rest.size() && field < 15) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    std::size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    ++field;
    std::string_view token = rest.substr(pos, end - pos);
    if (field == 14 || field == 15) {
      std::uint64_t value = 0;
      auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (ec != std::errc{} || ptr != token.data() + token.size()) return std::nullopt;
      (field == 14 ? utime : stime) = value;
    }
    pos = end;
  }
  if (field < 15) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(ticks_per_second);
}

std::optional<std::uint64_t> status_kib_field(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view value = line.substr(key.size() + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      std::uint64_t kib = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), kib);
      if (ec != std::errc{} || ptr == value.data()) return std::nullopt;
      return kib * 1024;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

ProcessUsage read_process_usage(pid_t pid) {
  ProcessUsage usage;
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat = slurp(dir + "/stat");
  auto status = slurp(dir + "/status");
  if (!stat || !status) return usage;
  auto cpu = cpu_seconds_from_stat(*stat, sysconf(_SC_CLK_TCK));
  auto hwm = status_kib_field(*status, "VmHWM");
  auto rss = status_kib_field(*status, "VmRSS");
  if (!cpu || !hwm) return usage;
  usage.known = true;
  usage.source = "child process " + dir;
  usage.cpu_seconds = *cpu;
  usage.peak_rss_bytes = *hwm;
  usage.rss_bytes = rss.value_or(0);
  return usage;
}

ProcessUsage self_usage() {
  ProcessUsage usage;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return usage;
  usage.known = true;
  usage.source = "getrusage(RUSAGE_SELF)";
  usage.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  usage.peak_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
  if (auto status = slurp("/proc/self/status")) usage.rss_bytes = status_kib_field(*status, "VmRSS").value_or(0);
  return usage;
}

}  // namespace bench
