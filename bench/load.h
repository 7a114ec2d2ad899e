#pragma once
// The load generator of `keten bench`: P producer threads and C consumer threads, each with its own
// partner::Client (the real client library), against one broker. Producers keep up to `window`
// submits unanswered (Client::submit_async with natural batching, or one frame per message with
// Client::submit / next_receipt: LoadOptions::sdk_batching), paced to an offered rate if one is given;
// consumers grant `window` credit and acknowledge every delivery. Latency is measured from submit
// (or, when paced, from the message's due time) to the moment its consumer has acknowledged it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "adapters/sdk/client.h"
#include "bench/report.h"

namespace bench {

struct LoadOptions {
  std::uint64_t messages = 10'000;
  std::uint32_t window = 64;
  std::uint32_t producers = 1;
  std::uint32_t consumers = 1;   // 0: nobody receives (the backlog measurement)
  double rate = 0;               // msg/s over all producers; 0 = as fast as the window allows
  std::string contract = "departure.scheduled";
  std::uint32_t version = 1;
  std::string payload;           // the JSON body every message carries
  std::string case_ref = "9990012345";
  std::chrono::milliseconds timeout{120'000};  // give up (and report error) after this
  // true: the SDK's natural batching (Client::submit_async; consumers take DeliverBatch frames
  // and ack with AckBatch). false: one frame per message (Client::submit / next_receipt, single
  // Deliver and Ack frames), as before batching existed.
  bool sdk_batching = true;
  std::uint32_t frames_in_flight = 2;  // with sdk_batching: ClientOptions::frames_in_flight
  // How message ids sort in the broker's index, which decides how many of its pages a commit
  // writes: kCounter "<run>-N" (the bench's ids before, N in decimal, so "-10" sorts before "-9"),
  // kOrdered "<run>-<N in 20 digits>" (in the order made, as the SDK's UUID v7 ids are), kRandom
  // "<run>-<16 hex digits of a hash of N>-N" (scattered over the index, as UUID v4 ids are).
  enum class Ids { kCounter, kOrdered, kRandom };
  Ids ids = Ids::kCounter;
};

// The message id of message `index` of run `run_id` in style `ids`, and the index back from one
// (nullopt: not an id of that run). Pure.
std::string bench_message_id(LoadOptions::Ids ids, const std::string& run_id, std::uint64_t index);
std::optional<std::uint64_t> bench_message_index(const std::string& run_id, const std::string& id);

// Runs the load; the report's broker usage is left for the caller. Never throws; a failure is
// reported in RunReport::error with what was measured so far.
RunReport run_load(const LoadOptions& options, const partner::Profile& producer, const partner::Profile& consumer);

}  // namespace bench
