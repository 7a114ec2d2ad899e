// fairness: what one partner's flood does to another partner's receipts. Starts `keten serve` on a
// fresh store (bench::ChildBroker: sync = "full", the bench contract set plus a copy of its contract
// owned by a second partner) and runs alternating rounds of the same run:
//   - alone: the quiet partner (COA, through partner::Client) submits one 1 KiB message every
//     1 / --quiet-rate seconds and times each from submit to receipt;
//   - flood: the same, while the flooding partner (DTV) keeps --flood-frames SubmitBatch frames of
//     --flood-batch messages unanswered on each of --flood-connections raw CurveZMQ connections.
// Nobody consumes: every message stays pending for KMAR, so this is the submit path under load.
// Prints per round the quiet partner's receipt p50/p99/max in each phase and the flood's rate, then
// the medians over the rounds and the ratio of the two p99s (--json: one object).
// Usage: fairness --keten PATH [--flood-connections 4] [--flood-frames 4] [--flood-batch 64]
//                 [--quiet-rate 50] [--seconds 5] [--rounds 3] [--size 1024] [--turn-bytes N] [--json]
// (--turn-bytes sets the bench broker's [broker] turn_bytes.)
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "adapters/sdk/client.h"
#include "bench/args.h"
#include "bench/broker_child.h"
#include "bench/payload.h"
#include "bench/raw_client.h"
#include "bench/stats.h"
#include "contracts/envelope.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("the bench contract has no " + from);
  return text.replace(at, from.size(), to);
}

// The bench contract set plus `departure.quiet`: the same contract owned by COA.
fs::path contract_folder(const fs::path& dir) {
  const fs::path from = KETEN_BENCH_CONTRACTS;
  fs::create_directories(dir / "samples");
  const std::string contract = read_text(from / "departure.scheduled.v1.json");
  std::ofstream(dir / "departure.scheduled.v1.json") << contract;
  std::ofstream(dir / "departure.quiet.v1.json")
      << replaced(replaced(contract, "\"contract\": \"departure.scheduled\"", "\"contract\": \"departure.quiet\""),
                  "\"owner\": \"DTV\"", "\"owner\": \"COA\"");
  fs::copy_file(from / "samples" / "departure.scheduled.valid.json",
                dir / "samples" / "departure.scheduled.valid.json");
  return dir;
}

// One raw flooding connection: keeps `frames` SubmitBatch frames of `batch` messages unanswered
// until `stop`, counting accepted messages.
void flood(const partner::Profile& p, const std::string& payload, const std::string& prefix, std::size_t frames,
           std::size_t batch, const std::atomic<bool>& stop, std::atomic<std::uint64_t>& accepted) {
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};
  bench::connect_as(socket, p, 200);
  std::uint64_t next = 0;
  std::size_t unanswered = 0;
  while (!stop.load()) {
    while (unanswered < frames) {
      contracts::SubmitBatch frame;
      for (std::size_t i = 0; i < batch; ++i) {
        frame.messages.push_back(bench::bench_submit("departure.scheduled", prefix + std::to_string(next++), payload));
      }
      socket.send(zmq::buffer(contracts::encode_envelope(frame)), zmq::send_flags::none);
      ++unanswered;
    }
    zmq::message_t m;
    if (!socket.recv(m)) continue;
    auto e = contracts::decode_envelope(std::span(static_cast<const std::byte*>(m.data()), m.size()));
    if (!e) continue;
    std::size_t ok = 0;
    if (auto* b = std::get_if<contracts::ReceiptBatch>(&*e)) {
      for (const auto& r : b->receipts) ok += r.status == contracts::ReceiptStatus::kAccepted;
    } else if (auto* r = std::get_if<contracts::Receipt>(&*e)) {
      ok += r->status == contracts::ReceiptStatus::kAccepted;
    }
    accepted += ok;
    --unanswered;  // every frame gets one answer (a ReceiptBatch, or an Error frame)
  }
}

struct Phase {
  bench::Percentiles receipt;  // the quiet partner's submit -> receipt, microseconds
  double flood_rate = 0;       // the flood's accepted messages per second
};

struct Options {
  std::size_t connections = 4, frames = 4, batch = 64;
  double quiet_rate = 50, seconds = 5;
};

// One phase: the quiet partner paced for `seconds`, with the flood running when `flooding`.
Phase phase(bench::ChildBroker& broker, partner::Client& quiet, const std::string& payload, const Options& o,
            bool flooding, std::uint64_t& quiet_next) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> accepted{0};
  std::vector<std::thread> flooders;
  const std::string prefix = "flood-" + std::to_string(::getpid()) + "-" + std::to_string(quiet_next) + "-";
  if (flooding) {
    for (std::size_t c = 0; c < o.connections; ++c) {
      flooders.emplace_back(flood, broker.profile("DTV"), payload, prefix + std::to_string(c) + "-", o.frames, o.batch,
                            std::cref(stop), std::ref(accepted));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the flood under way
  }
  const std::uint64_t accepted_before = accepted.load();
  const auto started = Clock::now();
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.quiet_rate));
  std::vector<std::uint64_t> samples;
  std::string failure;
  for (auto due = started; Clock::now() - started < std::chrono::duration<double>(o.seconds); due += period) {
    std::this_thread::sleep_until(due);
    const auto sent = Clock::now();
    auto receipt = quiet.send(bench::bench_submit(
        "departure.quiet", "quiet-" + std::to_string(::getpid()) + "-" + std::to_string(quiet_next++), payload));
    if (!receipt || receipt->status != contracts::ReceiptStatus::kAccepted) {
      failure = receipt ? "quiet message not accepted: " + receipt->detail : receipt.error().detail;
      break;
    }
    samples.push_back(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count()));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  Phase out{bench::summarize(std::move(samples)), static_cast<double>(accepted.load() - accepted_before) / elapsed};
  stop = true;
  for (auto& t : flooders) t.join();
  if (!failure.empty()) throw std::runtime_error(failure);
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json"});
  Options o;
  o.connections = static_cast<std::size_t>(args.num("flood-connections", 4));
  o.frames = static_cast<std::size_t>(args.num("flood-frames", 4));
  o.batch = static_cast<std::size_t>(args.num("flood-batch", 64));
  o.quiet_rate = args.num("quiet-rate", 50);
  o.seconds = args.num("seconds", 5);
  const auto rounds = static_cast<int>(args.num("rounds", 3));
  const auto size = static_cast<std::size_t>(args.num("size", 1024));
  const bool json = args.str("json", "") == "1";
  if (o.connections < 1 || o.frames < 1 || o.batch < 1 || o.batch > 1000 || o.quiet_rate <= 0 || o.seconds <= 0 ||
      rounds < 1) {
    throw std::invalid_argument(
        "--flood-connections, --flood-frames, --quiet-rate, --seconds and --rounds must be "
        "positive, --flood-batch 1..1000");
  }
  bench::ChildBrokerOptions options;
  options.keten_binary = args.str("keten", "");
  if (options.keten_binary.empty()) throw std::invalid_argument("--keten PATH is required");
  options.partners = {"DTV", "KMAR", "COA"};
  if (args.num("turn-bytes", 0) > 0) {
    options.broker_keys = "turn_bytes = " + std::to_string(static_cast<std::size_t>(args.num("turn-bytes", 0))) + "\n";
  }
  const fs::path dir = fs::temp_directory_path() / ("keten-fairness-" + std::to_string(::getpid()));
  options.contracts = contract_folder(dir);
  struct RemoveDir {
    fs::path dir;
    ~RemoveDir() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove_dir{dir};
  auto broker = bench::ChildBroker::start(options);
  if (!broker) throw std::runtime_error("broker did not start: " + broker.error().detail);
  const std::string payload =
      bench::padded_payload(read_text(options.contracts / "samples" / "departure.scheduled.valid.json"), size);
  partner::ClientOptions quiet_options;
  quiet_options.receipt_timeout = std::chrono::seconds(60);
  quiet_options.resend_after = std::chrono::seconds(30);  // a resend would be a second sample in one
  auto quiet = partner::Client::connect((*broker)->profile("COA"), quiet_options);
  if (!quiet) throw std::runtime_error("quiet client: " + quiet.error().detail);
  std::uint64_t quiet_next = 0;
  {
    Options warm = o;
    warm.seconds = 0.5;
    (void)phase(**broker, *quiet, payload, warm, false, quiet_next);  // connection, caches
  }
  std::vector<double> alone_p99, flood_p99, alone_p50, flood_p50, flood_rate;
  for (int r = 1; r <= rounds; ++r) {
    const Phase alone = phase(**broker, *quiet, payload, o, false, quiet_next);
    const Phase flooded = phase(**broker, *quiet, payload, o, true, quiet_next);
    alone_p99.push_back(static_cast<double>(alone.receipt.p99));
    alone_p50.push_back(static_cast<double>(alone.receipt.p50));
    flood_p99.push_back(static_cast<double>(flooded.receipt.p99));
    flood_p50.push_back(static_cast<double>(flooded.receipt.p50));
    flood_rate.push_back(flooded.flood_rate);
    if (!json) {
      std::printf(
          "round %d: quiet alone p50 %llu p99 %llu max %llu us (%zu); during the flood p50 %llu p99 %llu max "
          "%llu us (%zu), flood %.0f msg/s\n",
          r, static_cast<unsigned long long>(alone.receipt.p50), static_cast<unsigned long long>(alone.receipt.p99),
          static_cast<unsigned long long>(alone.receipt.max), alone.receipt.count,
          static_cast<unsigned long long>(flooded.receipt.p50), static_cast<unsigned long long>(flooded.receipt.p99),
          static_cast<unsigned long long>(flooded.receipt.max), flooded.receipt.count, flooded.flood_rate);
    }
  }
  const double a99 = bench::median(alone_p99), f99 = bench::median(flood_p99);
  if (json) {
    std::printf(
        "{\"system\":\"keten-fairness\",\"flood_connections\":%zu,\"flood_frames\":%zu,\"flood_batch\":%zu,"
        "\"quiet_rate\":%.1f,\"rounds\":%d,\"quiet_alone_p50_us\":%.0f,\"quiet_alone_p99_us\":%.0f,"
        "\"quiet_flood_p50_us\":%.0f,\"quiet_flood_p99_us\":%.0f,\"flood_msg_per_s\":%.0f,\"p99_ratio\":%.2f}\n",
        o.connections, o.frames, o.batch, o.quiet_rate, rounds, bench::median(alone_p50), a99, bench::median(flood_p50),
        f99, bench::median(flood_rate), a99 > 0 ? f99 / a99 : 0.0);
  } else {
    std::printf(
        "median of %d rounds: quiet receipt p99 alone %.0f us, during the flood %.0f us (ratio %.2f); flood "
        "%.0f msg/s over %zu connections\n",
        rounds, a99, f99, a99 > 0 ? f99 / a99 : 0.0, bench::median(flood_rate), o.connections);
  }
  (*broker)->stop();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fairness: " << e.what() << "\n";
  return 1;
}
