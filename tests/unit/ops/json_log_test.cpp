#include "broker/ops/json_log.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

using broker::ops::json_log_line;
using broker::ops::parse_key_values;

namespace {
const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'795'951'893'123));  // 2026-11-29T11:31:33.123Z
}

TEST_CASE("a log line splits into its event words and key=value fields", "[ops]") {
  auto p = parse_key_values("rejected message_id=m1 partner=ALPHA detail=payload violates x in 2 place(s)");
  CHECK(p.event == "rejected");
  using F = std::vector<std::pair<std::string, std::string>>;
  CHECK(p.fields == F{{"message_id", "m1"}, {"partner", "ALPHA"}, {"detail", "payload violates x in 2 place(s)"}});
}

TEST_CASE("a line without fields is all event; a line starting with a field has no event", "[ops]") {
  auto plain = parse_key_values("store failure, batch of 3 frames refused: disk I/O error");
  CHECK(plain.event == "store failure, batch of 3 frames refused: disk I/O error");
  CHECK(plain.fields.empty());
  auto bare = parse_key_values("a=1 b=");
  CHECK(bare.event.empty());
  CHECK(bare.fields == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", ""}});
}

TEST_CASE("a JSON log line is one object with time, level, logger, msg, event and the fields", "[ops]") {
  std::string line = json_log_line(kTime, "warn", "broker", "nacked delivery_id=7 partner=BRAVO reason=bad \"x\"");
  CHECK(line.find('\n') == std::string::npos);
  auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2026-11-29T11:31:33.123Z");
  CHECK(j["level"] == "warn");
  CHECK(j["logger"] == "broker");
  CHECK(j["msg"] == "nacked delivery_id=7 partner=BRAVO reason=bad \"x\"");
  CHECK(j["event"] == "nacked");
  CHECK(j["delivery_id"] == "7");
  CHECK(j["partner"] == "BRAVO");
  CHECK(j["reason"] == "bad \"x\"");
}

TEST_CASE("JSON log lines escape control characters and replace invalid UTF-8", "[ops]") {
  std::string line = json_log_line(kTime, "info", "x", std::string("a=line1\nline2\ttab\x01 b=\xff\xfe"));
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\t') == std::string::npos);
  auto j = nlohmann::json::parse(line);  // throws on invalid JSON or UTF-8
  CHECK(j["a"] == "line1\nline2\ttab\x01");
  CHECK(j["b"] == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("a field named like a fixed key stays only in msg", "[ops]") {
  auto j = nlohmann::json::parse(json_log_line(kTime, "info", "broker", "started level=9 logger=x k=v"));
  CHECK(j["level"] == "info");
  CHECK(j["logger"] == "broker");
  CHECK(j["k"] == "v");
}

TEST_CASE("the spdlog JSON formatter writes one parseable object per line", "[ops]") {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("jsontest", sink);
  logger.set_formatter(broker::ops::make_json_formatter());
  logger.set_level(spdlog::level::info);
  logger.info("session open partner={} credit={}", "BRAVO", 16);
  logger.warn("plain text with \"quotes\"");
  std::istringstream lines(out.str());
  std::string first, second, extra;
  REQUIRE(std::getline(lines, first));
  REQUIRE(std::getline(lines, second));
  CHECK_FALSE(std::getline(lines, extra));
  auto a = nlohmann::json::parse(first);
  CHECK(a["logger"] == "jsontest");
  CHECK(a["event"] == "session open");
  CHECK(a["credit"] == "16");
  auto b = nlohmann::json::parse(second);
  CHECK(b["level"] == "warning");
  CHECK(b["msg"] == "plain text with \"quotes\"");
}
