// The pure parts of the benchmarks: percentiles, rate pacing, payload padding, /proc parsing and
// the report JSON that bench/run.sh reads.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <numeric>
#include <string>
#include <vector>

#include "bench/pacing.h"
#include "bench/payload.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/stats.h"

using namespace std::chrono_literals;

TEST_CASE("nearest-rank percentiles") {
  std::vector<std::uint64_t> one_to_thousand(1000);
  std::iota(one_to_thousand.begin(), one_to_thousand.end(), 1);
  CHECK(bench::nearest_rank(one_to_thousand, 50) == 500);
  CHECK(bench::nearest_rank(one_to_thousand, 99) == 990);
  CHECK(bench::nearest_rank(one_to_thousand, 99.9) == 999);
  CHECK(bench::nearest_rank(one_to_thousand, 100) == 1000);
  CHECK(bench::nearest_rank(one_to_thousand, 0) == 1);
  CHECK(bench::nearest_rank({}, 50) == 0);
  CHECK(bench::nearest_rank({7}, 99.9) == 7);
}

TEST_CASE("summarize sorts and reports count, tail, max and mean") {
  auto p = bench::summarize({5, 1, 4, 2, 3, 1000});
  CHECK(p.count == 6);
  CHECK(p.p50 == 3);
  CHECK(p.p99 == 1000);  // ceil(0.99 * 6) = 6th sample
  CHECK(p.p999 == 1000);
  CHECK(p.max == 1000);
  CHECK(p.mean == Approx(169.1667).epsilon(1e-4));
  auto empty = bench::summarize({});
  CHECK(empty.count == 0);
  CHECK(empty.p99 == 0);
}

TEST_CASE("median of rounds") {
  CHECK(bench::median({3, 1, 2}) == 2);
  CHECK(bench::median({4, 1, 3, 2}) == 2.5);
  CHECK(bench::median({}) == 0);
}

TEST_CASE("rate pacing: message i is due i / rate after the start") {
  bench::RatePacer unpaced(0);
  CHECK_FALSE(unpaced.paced());
  CHECK(unpaced.due(12345) == 0ns);

  bench::RatePacer thousand(1000);
  CHECK(thousand.paced());
  CHECK(thousand.due(0) == 0ns);
  CHECK(thousand.due(1) == 1ms);
  CHECK(thousand.due(5000) == 5s);
  bench::RatePacer third(3);
  CHECK(third.due(1) == 333'333'333ns);  // rounded to the nearest ns, no drift:
  CHECK(third.due(3'000'000) == 1'000'000s);
}

TEST_CASE("lanes deal message indices round-robin") {
  CHECK(bench::lane_count(10, 3, 0) == 4);  // 0 3 6 9
  CHECK(bench::lane_count(10, 3, 1) == 3);  // 1 4 7
  CHECK(bench::lane_count(10, 3, 2) == 3);  // 2 5 8
  CHECK(bench::lane_count(2, 4, 3) == 0);
  CHECK(bench::lane_count(10, 0, 0) == 0);
  std::uint64_t total = 0;
  for (std::uint32_t lane = 0; lane < 7; ++lane) total += bench::lane_count(1001, 7, lane);
  CHECK(total == 1001);
}

TEST_CASE("payload padding reaches the size exactly and stays valid JSON") {
  const std::string base = R"({"a":"b","n":1})" "\n";
  auto padded = bench::padded_payload(base, 1024);
  CHECK(padded.size() == 1024);
  auto json = nlohmann::json::parse(padded);
  CHECK(json["a"] == "b");
  CHECK(json["remarks"].get<std::string>().size() == 1024 - 15 - 13);
  CHECK(bench::padded_payload(base, 10) == R"({"a":"b","n":1})");  // already larger: unchanged
  auto other = bench::padded_payload("{}", 64, "pad");
  CHECK(other.size() == 64);
  CHECK(nlohmann::json::parse(other).contains("pad"));
  CHECK_THROWS_AS(bench::padded_payload("[1,2]", 64), std::invalid_argument);
}

TEST_CASE("/proc parsing: CPU from stat, kB fields from status") {
  // A command name with spaces and a ')' must not shift the fields.
  const std::string stat =
      "4242 (keten (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 100 1000 200 18446744073709551615";
  auto cpu = bench::cpu_seconds_from_stat(stat, 100);
  REQUIRE(cpu);
  CHECK(*cpu == Approx(3.0));  // (250 + 50) ticks / 100
  CHECK_FALSE(bench::cpu_seconds_from_stat("4242 (keten) S 1 2", 100));
  CHECK_FALSE(bench::cpu_seconds_from_stat("garbage", 100));

  const std::string status = "Name:\tketen\nVmPeak:\t  300000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
  CHECK(bench::status_kib_field(status, "VmHWM") == 51200ull * 1024);
  CHECK(bench::status_kib_field(status, "VmRSS") == 40960ull * 1024);
  CHECK_FALSE(bench::status_kib_field(status, "VmSwap"));
  CHECK_FALSE(bench::status_kib_field(status, "Vm"));  // a prefix is not a key
}

TEST_CASE("report JSON carries throughput, latency percentiles and broker usage") {
  bench::RunReport r;
  r.config.system = "keten";
  r.config.messages = 2000;
  r.config.consumers = 1;
  r.accepted = 2000;
  r.delivered = 2000;
  r.seconds = 0.5;
  r.throughput = bench::throughput_of(r);
  CHECK(r.throughput == 4000);
  r.latency_us = bench::summarize({100, 200, 300});
  r.broker.known = true;
  r.broker.cpu_seconds = 0.25;
  r.broker.peak_rss_bytes = 10 << 20;
  auto j = nlohmann::json::parse(bench::to_json(r));
  CHECK(j["throughput"] == 4000.0);
  CHECK(j["latency_us"]["p50"] == 200);
  CHECK(j["latency_us"]["p99"] == 300);
  CHECK(j["latency_us"]["p999"] == 300);
  CHECK(j["delivered"] == 2000);
  CHECK(j["broker"]["peak_rss_bytes"] == 10 << 20);
  CHECK(j["broker"]["cpu_us_per_message"] == Approx(125.0));
  CHECK(j["clients"].is_null());  // not measured: null, not zero
  r.clients.known = true;
  r.clients.cpu_seconds = 0.1;
  CHECK(nlohmann::json::parse(bench::to_json(r))["clients"]["cpu_us_per_message"] == Approx(50.0));
  CHECK(bench::to_table(r).find("clients' CPU          0.10 s (50.0 us/msg)") != std::string::npos);
  CHECK(j["error"].is_null());
  CHECK_FALSE(j.contains("broker_settings"));  // a broker the bench did not start: not known
  r.config.broker_settings = "sync=full signing=on";
  CHECK(nlohmann::json::parse(bench::to_json(r))["broker_settings"] == "sync=full signing=on");
  CHECK(bench::to_table(r).find("broker sync=full signing=on") != std::string::npos);

  bench::RunReport backlog;  // no consumers: throughput counts accepted messages
  backlog.config.consumers = 0;
  backlog.accepted = 300;
  backlog.seconds = 3;
  CHECK(bench::throughput_of(backlog) == Approx(100.0));
  backlog.error = "timed out";
  auto b = nlohmann::json::parse(bench::to_json(backlog));
  CHECK(b["error"] == "timed out");
  CHECK(b["broker"].is_null());
  CHECK(bench::to_table(backlog).find("ERROR") != std::string::npos);
}
