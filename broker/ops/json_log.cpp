#include "broker/ops/json_log.h"

#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace broker::ops {
namespace {

bool is_key_char(char c, bool first) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

// Length of "key=" at the start of `token` (a key followed by '='), or 0.
std::size_t key_length(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && is_key_char(token[i], i == 0)) ++i;
  return i > 0 && i < token.size() && token[i] == '=' ? i : 0;
}

bool is_reserved(std::string_view key) {
  return key == "time" || key == "level" || key == "logger" || key == "msg" || key == "event" || key == "thread";
}

std::string iso_time(std::chrono::system_clock::time_point time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line = json_log_line(msg.time, std::string_view(level.data(), level.size()),
                                     std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                                     std::string_view(msg.payload.data(), msg.payload.size()));
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

ParsedLine parse_key_values(std::string_view text) {
  ParsedLine out;
  // Token starts: position 0 and every position after a space.
  std::size_t pos = 0;
  std::size_t event_end = text.size();
  bool in_fields = false;
  std::size_t value_start = 0;
  auto close_value = [&](std::size_t end) {
    if (!out.fields.empty()) out.fields.back().second = std::string(text.substr(value_start, end - value_start));
  };
  while (pos <= text.size()) {
    std::size_t k = key_length(text.substr(pos));
    if (k > 0) {
      if (!in_fields) event_end = pos == 0 ? 0 : pos - 1;
      in_fields = true;
      close_value(pos == 0 ? 0 : pos - 1);
      out.fields.emplace_back(std::string(text.substr(pos, k)), std::string());
      value_start = pos + k + 1;
    }
    std::size_t space = text.find(' ', pos);
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  close_value(text.size());
  out.event = std::string(text.substr(0, event_end));
  return out;
}

std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view text) {
  nlohmann::ordered_json j;
  j["time"] = iso_time(time);
  j["level"] = std::string(level);
  j["logger"] = std::string(logger);
  j["msg"] = std::string(text);
  ParsedLine parsed = parse_key_values(text);
  j["event"] = parsed.event;
  for (auto& [key, value] : parsed.fields) {
    if (is_reserved(key) || j.contains(key)) continue;  // the first of a repeated key wins
    j[key] = std::move(value);
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::unique_ptr<spdlog::formatter> make_json_formatter() { return std::make_unique<JsonFormatter>(); }

}  // namespace broker::ops
