// wire_batch: what batching on the wire alone buys. Starts `keten serve` on a fresh store
// (bench::ChildBroker: sync = "full", the bench contract set) and submits --messages 1 KiB
// departure.scheduled messages as DTV over one raw CurveZMQ DEALER, in alternating rounds of the
// same run: one Submit per frame with --window frames in flight, and SubmitBatch frames of --batch
// messages with --batches-in-flight batch frames in flight (default 1: the same 64 messages in
// flight as window 64). Throughput counts from the first send to the last receipt; every receipt
// must say accepted. No consumer is connected: deliveries stay pending, so this measures the
// submit path only. Prints one line per round and the ratio batched / single.
// Usage: wire_batch --keten PATH [--messages 4000] [--size 1024] [--window 64] [--batch 64]
//                   [--batches-in-flight 1] [--rounds 2]
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "bench/args.h"
#include "bench/broker_child.h"
#include "bench/payload.h"
#include "bench/raw_client.h"
#include "contracts/envelope.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};
  std::string payload;
  std::uint64_t next_id = 0;
  std::string prefix;

  Run(const partner::Profile& p, std::string body, std::string id_prefix)
      : payload(std::move(body)), prefix(std::move(id_prefix)) {
    bench::connect_as(socket, p, 60'000);
  }

  contracts::Submit next() {
    return bench::bench_submit("departure.scheduled", prefix + "-" + std::to_string(next_id++), payload);
  }

  void send(const contracts::Envelope& e) { socket.send(zmq::buffer(contracts::encode_envelope(e)), zmq::send_flags::none); }

  // Receipts in the next frame (one Receipt or a ReceiptBatch); throws on anything else.
  std::size_t receive() {
    zmq::message_t m;
    if (!socket.recv(m)) throw std::runtime_error("no answer within 60 s");
    auto e = contracts::decode_envelope(std::span(static_cast<const std::byte*>(m.data()), m.size()));
    if (!e) throw std::runtime_error("undecodable answer: " + e.error().detail);
    auto accepted = [](const contracts::Receipt& r) {
      if (r.status != contracts::ReceiptStatus::kAccepted) {
        throw std::runtime_error("message " + r.message_id + " not accepted: " + r.detail);
      }
    };
    if (auto* r = std::get_if<contracts::Receipt>(&*e)) {
      accepted(*r);
      return 1;
    }
    if (auto* b = std::get_if<contracts::ReceiptBatch>(&*e)) {
      for (const auto& r : b->receipts) accepted(r);
      return b->receipts.size();
    }
    throw std::runtime_error("unexpected frame from the broker");
  }
};

// Messages per second for `messages` single Submits, `window` in flight.
double single(Run& run, std::size_t messages, std::size_t window) {
  const auto t0 = Clock::now();
  std::size_t sent = 0, done = 0;
  while (done < messages) {
    while (sent < messages && sent - done < window) {
      run.send(run.next());
      ++sent;
    }
    done += run.receive();
  }
  return messages / std::chrono::duration<double>(Clock::now() - t0).count();
}

// Messages per second for `messages` in SubmitBatch frames of `batch`, `in_flight` frames in flight.
double batched(Run& run, std::size_t messages, std::size_t batch, std::size_t in_flight) {
  const auto t0 = Clock::now();
  std::size_t sent = 0, done = 0;
  while (done < messages) {
    while (sent < messages && (sent - done) < in_flight * batch) {
      contracts::SubmitBatch frame;
      for (std::size_t i = 0; i < batch && sent < messages; ++i, ++sent) frame.messages.push_back(run.next());
      run.send(frame);
    }
    done += run.receive();
  }
  return messages / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {});
  const auto messages = static_cast<std::size_t>(args.num("messages", 4000));
  const auto size = static_cast<std::size_t>(args.num("size", 1024));
  const auto window = static_cast<std::size_t>(args.num("window", 64));
  const auto batch = static_cast<std::size_t>(args.num("batch", 64));
  const auto in_flight = static_cast<std::size_t>(args.num("batches-in-flight", 1));
  const auto rounds = static_cast<int>(args.num("rounds", 2));
  bench::ChildBrokerOptions options;
  options.keten_binary = args.str("keten", "");
  if (options.keten_binary.empty()) throw std::invalid_argument("--keten PATH is required");
  options.contracts = KETEN_BENCH_CONTRACTS;
  auto broker = bench::ChildBroker::start(options);
  if (!broker) throw std::runtime_error("broker did not start: " + broker.error().detail);
  std::ifstream sample(options.contracts / "samples" / "departure.scheduled.valid.json");
  std::stringstream text;
  text << sample.rdbuf();
  Run run((*broker)->profile("DTV"), bench::padded_payload(text.str(), size), "wire-batch-" + std::to_string(::getpid()));
  single(run, 200, window);  // warm-up: connection, caches, the store's first pages
  // The broker's CPU time (user + system, from /proc) per message of a phase, in microseconds.
  auto cpu_us = [&](double before, std::size_t n) { return ((*broker)->usage().cpu_seconds - before) * 1e6 / n; };
  double single_sum = 0, batched_sum = 0, single_cpu = 0, batched_cpu = 0;
  for (int r = 1; r <= rounds; ++r) {
    double before = (*broker)->usage().cpu_seconds;
    const double s = single(run, messages, window);
    const double s_cpu = cpu_us(before, messages);
    before = (*broker)->usage().cpu_seconds;
    const double b = batched(run, messages, batch, in_flight);
    const double b_cpu = cpu_us(before, messages);
    std::printf("round %d: single (window %zu) %.0f msg/s %.0f us broker CPU/msg, batches of %zu (%zu in flight) "
                "%.0f msg/s %.0f us/msg, ratio %.2f\n",
                r, window, s, s_cpu, batch, in_flight, b, b_cpu, b / s);
    single_sum += s;
    batched_sum += b;
    single_cpu += s_cpu;
    batched_cpu += b_cpu;
  }
  std::printf("mean: single %.0f msg/s %.0f us/msg, batched %.0f msg/s %.0f us/msg, throughput ratio %.2f "
              "(%zu-byte payloads, %zu messages per round)\n",
              single_sum / rounds, single_cpu / rounds, batched_sum / rounds, batched_cpu / rounds,
              batched_sum / single_sum, run.payload.size(), messages);
  std::printf("broker stop: %s\n", (*broker)->stop().c_str());
  return 0;
} catch (const std::exception& e) {
  std::cerr << "wire_batch: " << e.what() << "\n";
  return 1;
}
