#pragma once
// The JSON log format (`keten --log-format json`): one JSON object per line for log shippers.
// Our log lines are "short event key=value key=value ..." (docs/STYLE §4); the object carries the
// whole line as "msg", the leading words as "event", and each key=value as a string field.
//   {"time":"2026-11-29T11:31:33.123Z","level":"warn","logger":"broker","msg":"rejected
//    message_id=m1 partner=ALPHA","event":"rejected","message_id":"m1","partner":"ALPHA"}
// A value runs to the next " key=" (so a value may hold spaces); a field named like a fixed key
// (time, level, logger, msg, event, thread) stays only in "msg". Invalid UTF-8 becomes U+FFFD.

#include <spdlog/formatter.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace broker::ops {

// The leading event words and the key=value fields of a log message (pure).
struct ParsedLine {
  std::string event;
  std::vector<std::pair<std::string, std::string>> fields;
};
ParsedLine parse_key_values(std::string_view text);

// One JSON object (no trailing newline) for a log message.
std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view text);

// An spdlog formatter writing json_log_line + "\n"; install with spdlog::set_formatter().
std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace broker::ops
