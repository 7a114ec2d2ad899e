#include "bench/load.h"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/pacing.h"
#include "bench/proc_stats.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Shared by every thread of one run. Submit times are nanoseconds since `start`, by message index.
struct Shared {
  explicit Shared(const LoadOptions& o)
      : options(o), submit_ns(o.messages), delivered_flag(o.messages), pacer(o.rate) {}
  const LoadOptions& options;
  std::string run_id;
  std::atomic<Clock::rep> start_ticks{0};  // Clock::time_point of the start, set when all may go
  Clock::time_point deadline;               // set once before any thread starts
  std::vector<std::atomic<std::int64_t>> submit_ns;
  std::vector<std::atomic<std::uint8_t>> delivered_flag;
  RatePacer pacer;
  std::atomic<std::uint64_t> submitted{0}, accepted{0}, rejected{0}, delivered{0}, redelivered{0};
  std::atomic<std::uint32_t> producers_done{0};
  std::atomic<std::uint32_t> consumers_ready{0};
  std::atomic<std::uint32_t> producers_ready{0};
  std::atomic<bool> go{false};
  std::atomic<bool> abort{false};
  std::atomic<std::int64_t> last_done_ns{0};
  std::mutex mutex;  // guards the fields below
  std::string error;
  std::vector<std::uint64_t> latency_us;
  std::vector<std::uint64_t> receipt_us;

  Clock::time_point start() const { return Clock::time_point(Clock::duration(start_ticks.load())); }
  std::int64_t now_ns() const { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start()).count(); }
  void fail(const std::string& what) {
    std::lock_guard lock(mutex);
    if (error.empty()) error = what;
    abort = true;
  }
  std::string message_id(std::uint64_t index) const { return bench_message_id(options.ids, run_id, index); }
  // The index in a message id of this run, or nullopt for a foreign id.
  std::optional<std::uint64_t> index_of(const std::string& id) const {
    auto index = bench_message_index(run_id, id);
    if (index && *index >= options.messages) return std::nullopt;
    return index;
  }
  void note_done() {
    auto t = now_ns();
    auto prev = last_done_ns.load();
    while (prev < t && !last_done_ns.compare_exchange_weak(prev, t)) {
    }
  }
};

std::uint64_t to_us(std::int64_t ns) { return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns / 1000); }

// Waits until the client's CurveZMQ handshake has completed, so connection set-up is not measured.
// `poll` lets the client read its socket (the handshake is seen there).
template <typename Poll>
bool wait_connected(partner::Client& client, Clock::time_point deadline, Poll poll) {
  while (Clock::now() < deadline) {
    if (client.check_connection()) return true;
    if (!poll()) return false;
  }
  return false;
}

void consumer_thread(Shared& s, const partner::Profile& profile) {
  partner::ClientOptions options;
  options.credit = s.options.window;
  options.delivery_batches = s.options.sdk_batching;
  auto client = partner::Client::connect(profile, options);
  if (!client) return s.fail("consumer connect: " + client.error().detail);
  // The first receive() grants credit; nothing has been sent yet, so it returns empty.
  if (auto first = client->receive(milliseconds(0)); !first) return s.fail("consumer: " + first.error().detail);
  auto poll = [&] {
    // Deliveries left by an earlier run on the same store are acknowledged and not counted.
    auto d = client->receive(milliseconds(5));
    if (d && *d) (void)client->ack((*d)->delivery_id);
    return static_cast<bool>(d);
  };
  if (!wait_connected(*client, s.deadline, poll)) return s.fail("consumer: no connection to the broker");
  s.consumers_ready++;
  std::vector<std::uint64_t> latencies;
  latencies.reserve(s.options.messages / std::max<std::uint32_t>(1, s.options.consumers) + 16);
  while (!s.abort) {
    if (s.producers_done == s.options.producers && s.delivered.load() >= s.accepted.load()) break;
    if (Clock::now() > s.deadline) {
      s.fail("timed out waiting for deliveries (" + std::to_string(s.delivered.load()) + " of " +
             std::to_string(s.accepted.load()) + " accepted)");
      break;
    }
    auto next = client->receive(milliseconds(20));
    if (!next) {
      s.fail("consumer receive: " + next.error().detail);
      break;
    }
    if (!*next) continue;
    const auto& d = **next;
    if (auto acked = client->ack(d.delivery_id); !acked) {
      s.fail("consumer ack: " + acked.error().detail);
      break;
    }
    auto index = s.index_of(d.header.message_id);
    if (!index) continue;  // a message of an earlier run on the same store
    if (s.delivered_flag[*index].exchange(1) == 0) {
      latencies.push_back(to_us(s.now_ns() - s.submit_ns[*index].load()));
      s.delivered++;
      s.note_done();
    } else {
      s.redelivered++;
    }
  }
  client->close();
  std::lock_guard lock(s.mutex);
  s.latency_us.insert(s.latency_us.end(), latencies.begin(), latencies.end());
}

void producer_thread(Shared& s, const partner::Profile& profile, std::uint32_t lane) {
  partner::ClientOptions options;
  options.window = s.options.window;
  options.frames_in_flight = s.options.frames_in_flight;
  auto client = partner::Client::connect(profile, options);
  if (!client) return s.fail("producer connect: " + client.error().detail);
  auto poll = [&] { return static_cast<bool>(client->next_receipt(milliseconds(5))); };
  if (!wait_connected(*client, s.deadline, poll)) return s.fail("producer: no connection to the broker");
  s.producers_ready++;
  while (!s.go && !s.abort) std::this_thread::sleep_for(milliseconds(1));

  const std::uint32_t lanes = s.options.producers;
  const std::uint64_t mine = lane_count(s.options.messages, lanes, lane);
  std::vector<std::uint64_t> receipts;
  receipts.reserve(mine);
  std::uint64_t outstanding = 0;
  contracts::Submit submit;
  submit.header.contract = s.options.contract;
  submit.header.version = s.options.version;
  submit.header.case_ref = s.options.case_ref;
  submit.payload = s.options.payload;

  auto handle = [&](const contracts::Receipt& receipt) {
    --outstanding;
    auto index = s.index_of(receipt.message_id);
    if (index) receipts.push_back(to_us(s.now_ns() - s.submit_ns[*index].load()));
    if (receipt.status == contracts::ReceiptStatus::kRejected) {
      s.rejected++;
      s.fail("rejected: " + std::string(contracts::to_string(receipt.code)) + ": " + receipt.detail +
             (receipt.errors.empty() ? "" : " (" + receipt.errors[0].pointer + ": " + receipt.errors[0].reason + ")"));
    } else {
      s.accepted++;
      if (s.options.consumers == 0) s.note_done();
    }
  };
  // Takes receipts already there; waits up to `wait` for the first one.
  auto drain = [&](milliseconds wait) -> bool {
    if (s.options.sdk_batching) {  // the callbacks of submit_async run in poll()
      auto polled = client->poll(wait);
      if (!polled) s.fail("producer: " + polled.error().detail);
      return static_cast<bool>(polled);
    }
    auto next = client->next_receipt(wait);
    if (!next) {
      s.fail("producer: " + next.error().detail);
      return false;
    }
    while (*next) {
      handle(**next);
      next = client->next_receipt(milliseconds(0));
      if (!next) {
        s.fail("producer: " + next.error().detail);
        return false;
      }
    }
    return true;
  };

  for (std::uint64_t k = 0; k < mine && !s.abort; ++k) {
    const std::uint64_t index = lane + k * lanes;
    while (outstanding >= s.options.window && !s.abort) {
      if (Clock::now() > s.deadline) return s.fail("timed out waiting for receipts");
      if (!drain(milliseconds(50))) return;
    }
    if (s.pacer.paced()) {
      auto due = s.start() + s.pacer.due(index);
      while (Clock::now() < due && !s.abort) {
        auto left = std::chrono::duration_cast<milliseconds>(due - Clock::now());
        if (outstanding > 0 && left >= milliseconds(1)) {
          if (!drain(std::min(left, milliseconds(1)))) return;
        } else {
          std::this_thread::sleep_until(due);
        }
      }
      s.submit_ns[index] = std::chrono::duration_cast<std::chrono::nanoseconds>(s.pacer.due(index)).count();
    } else {
      s.submit_ns[index] = s.now_ns();
    }
    submit.header.message_id = s.message_id(index);
    submit.header.occurred_at = contracts::now_millis();
    submit.header.recorded_at = submit.header.occurred_at;
    // The send queue can be full for a moment (a burst of a large window): take receipts, retry.
    while (true) {
      auto sent = s.options.sdk_batching
                      ? client->submit_async(submit,
                                             [&](contracts::Result<contracts::Receipt> r) {
                                               if (r) return handle(*r);
                                               --outstanding;
                                               s.fail("producer: " + r.error().detail);
                                             })
                      : client->submit(submit);
      if (sent) break;
      if (Clock::now() > s.deadline) return s.fail("producer submit: " + sent.error().detail);
      if (!drain(milliseconds(5))) return;
    }
    ++outstanding;
    s.submitted++;
    if (!drain(milliseconds(0))) return;
  }
  while (outstanding > 0 && !s.abort) {
    if (Clock::now() > s.deadline) {
      s.fail("timed out waiting for " + std::to_string(outstanding) + " receipts");
      break;
    }
    if (!drain(milliseconds(50))) break;
  }
  client->close();
  s.producers_done++;
  std::lock_guard lock(s.mutex);
  s.receipt_us.insert(s.receipt_us.end(), receipts.begin(), receipts.end());
}

std::string random_run_id() {
  if (sodium_init() < 0) return "bench";
  unsigned char bytes[6];
  randombytes_buf(bytes, sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "bench-";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace

std::string bench_message_id(LoadOptions::Ids ids, const std::string& run_id, std::uint64_t index) {
  switch (ids) {
    case LoadOptions::Ids::kCounter: return run_id + "-" + std::to_string(index);
    case LoadOptions::Ids::kOrdered: {
      std::string digits = std::to_string(index);
      return run_id + "-" + std::string(20 - digits.size(), '0') + digits;
    }
    case LoadOptions::Ids::kRandom: {
      // splitmix64's finaliser: a bijection, so no two messages get the same hash.
      std::uint64_t z = index + 0x9E37'79B9'7F4A'7C15ULL;
      z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
      z ^= z >> 31;
      static constexpr char kHex[] = "0123456789abcdef";
      std::string hash(16, '0');
      for (int i = 15; i >= 0; --i, z >>= 4) hash[static_cast<std::size_t>(i)] = kHex[z & 15];
      return run_id + "-" + hash + "-" + std::to_string(index);
    }
  }
  return run_id + "-" + std::to_string(index);
}

std::optional<std::uint64_t> bench_message_index(const std::string& run_id, const std::string& id) {
  if (id.size() <= run_id.size() + 1 || id.compare(0, run_id.size(), run_id) != 0 || id[run_id.size()] != '-')
    return std::nullopt;
  const auto last_dash = id.rfind('-');  // the index is the id's last part in every style
  std::uint64_t index = 0;
  const char* first = id.data() + last_dash + 1;
  auto [ptr, ec] = std::from_chars(first, id.data() + id.size(), index);
  if (ec != std::errc{} || ptr != id.data() + id.size() || first == ptr) return std::nullopt;
  return index;
}

RunReport run_load(const LoadOptions& options, const partner::Profile& producer, const partner::Profile& consumer) {
  RunReport report;
  report.config.system = "keten";
  report.config.messages = options.messages;
  report.config.window = options.window;
  report.config.payload_bytes = options.payload.size();
  report.config.producers = options.producers;
  report.config.consumers = options.consumers;
  report.config.rate = options.rate;
  report.config.contract = options.contract;
  if (options.window == 0 || options.producers == 0) {
    report.error = "window and producers must be at least 1";
    return report;
  }

  Shared s(options);
  s.run_id = random_run_id();
  s.start_ticks = Clock::now().time_since_epoch().count();
  s.deadline = Clock::now() + options.timeout;
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < options.consumers; ++i) threads.emplace_back(consumer_thread, std::ref(s), std::cref(consumer));
  while (s.consumers_ready < options.consumers && !s.abort && Clock::now() < s.deadline)
    std::this_thread::sleep_for(milliseconds(5));
  for (std::uint32_t i = 0; i < options.producers; ++i)
    threads.emplace_back(producer_thread, std::ref(s), std::cref(producer), i);
  // Producers connect first; the clock starts when all may go (handshakes are not measured).
  while (s.producers_ready < options.producers && !s.abort && Clock::now() < s.deadline)
    std::this_thread::sleep_for(milliseconds(5));
  s.start_ticks = Clock::now().time_since_epoch().count();
  const ProcessUsage before = self_usage();
  s.go = true;
  for (auto& t : threads) t.join();
  report.clients = self_usage();
  report.clients.cpu_seconds -= before.cpu_seconds;
  report.clients.source = "in-process getrusage, from the start signal";

  report.submitted = s.submitted;
  report.accepted = s.accepted;
  report.rejected = s.rejected;
  report.delivered = s.delivered;
  report.redelivered = s.redelivered;
  report.seconds = static_cast<double>(s.last_done_ns.load()) / 1e9;
  report.throughput = throughput_of(report);
  report.latency_us = summarize(std::move(s.latency_us));
  report.receipt_us = summarize(std::move(s.receipt_us));
  report.error = s.error;
  if (report.error.empty() && options.consumers > 0 && report.delivered < report.accepted)
    report.error = "only " + std::to_string(report.delivered) + " of " + std::to_string(report.accepted) + " delivered";
  return report;
}

}  // namespace bench
