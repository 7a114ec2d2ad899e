#pragma once
// One benchmark run's result: what was asked, what happened, and how the broker fared; as a human
// table or one JSON object (the format bench/run.sh and the tests read). Pure.

#include <cstdint>
#include <string>

#include "bench/stats.h"

namespace bench {

struct RunConfig {
  std::string system = "keten";   // keten | raw-zmq | rabbitmq
  std::uint64_t messages = 0;
  std::uint32_t window = 0;        // submits (publishes) in flight per producer; consumer credit
  std::uint64_t payload_bytes = 0; // bytes of the message body actually sent
  std::uint32_t producers = 0;
  std::uint32_t consumers = 0;
  double rate = 0;                 // offered msg/s over all producers; 0 = as fast as possible
  std::string contract;            // keten only
  std::string broker_settings;     // keten-bench's own broker, e.g. "sync=full signing=on"; "" otherwise
};

struct ProcessUsage {
  bool known = false;
  std::string source;              // "child /proc/<pid>", "in-process getrusage", ...
  double cpu_seconds = 0;          // user + system
  std::uint64_t peak_rss_bytes = 0;
  std::uint64_t rss_bytes = 0;     // at the end of the run
};

struct RunReport {
  RunConfig config;
  std::uint64_t submitted = 0;
  std::uint64_t accepted = 0;      // Accepted or Duplicate receipts / publisher confirms / acks
  std::uint64_t rejected = 0;
  std::uint64_t delivered = 0;     // distinct messages delivered and acknowledged
  std::uint64_t redelivered = 0;   // deliveries beyond the first of a message
  double seconds = 0;              // first submit to last acknowledged delivery (or last receipt)
  double throughput = 0;           // delivered (or accepted, without consumers) per second
  Percentiles latency_us;          // submit (or due time) -> acknowledged delivery
  Percentiles receipt_us;          // submit (or due time) -> receipt / confirm
  ProcessUsage broker;
  ProcessUsage clients;            // the bench process's own producers and consumers, from the start signal on
  std::string error;               // "" when the run completed
};

// throughput = delivered / seconds, or accepted / seconds without consumers; 0 when seconds <= 0.
double throughput_of(const RunReport& report);

// {"system":..,"throughput":..,"latency_us":{"p50","p99","p999","max","mean","count"},
//  "receipt_us":{..},"messages":..,"delivered":..,"broker":{"cpu_seconds","peak_rss_bytes",..},
//  "clients":{"cpu_seconds","cpu_us_per_message"} or null,..}
std::string to_json(const RunReport& report);
std::string to_table(const RunReport& report);

}  // namespace bench
