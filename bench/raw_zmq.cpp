// raw_zmq: the machine's own limit for Keten's transport. One DEALER sends N frames of --size
// bytes to a ROUTER over loopback TCP, keeping --window in flight (optionally paced to --rate);
// the ROUTER answers each with an 8-byte ack. Latency: send -> ack received. Nothing is parsed,
// validated or stored. With --curve both sides use CurveZMQ, as Keten does. With --fsync-dir it
// also measures 1 KiB write + fdatasync in that folder (the "plus one fsync" of target 2).
// Prints one JSON object (bench/report.h) with --json, else a table.
#include <fcntl.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bench/args.h"
#include "bench/pacing.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/stats.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Keys {
  char pub[41], sec[41];
};

void run_router(zmq::socket_t& router, std::uint64_t messages) {
  zmq::message_t identity, body;
  for (std::uint64_t i = 0; i < messages; ++i) {
    (void)router.recv(identity);
    (void)router.recv(body);
    std::uint64_t seq = 0;
    std::memcpy(&seq, body.data(), sizeof seq);
    router.send(identity, zmq::send_flags::sndmore);
    router.send(zmq::buffer(&seq, sizeof seq), zmq::send_flags::none);
  }
}

bench::Percentiles fsync_probe(const std::string& dir, int count) {
  std::string path = dir + "/raw_zmq_fsync_probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return {};
  std::vector<char> block(1024, 'x');
  std::vector<std::uint64_t> samples;
  for (int i = 0; i < count; ++i) {
    auto t0 = Clock::now();
    if (::write(fd, block.data(), block.size()) < 0) break;
    if (::fdatasync(fd) != 0) break;
    samples.push_back(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
  }
  ::close(fd);
  ::unlink(path.c_str());
  return bench::summarize(std::move(samples));
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json", "curve"});
  const auto messages = static_cast<std::uint64_t>(args.num("messages", 100000));
  const auto window = static_cast<std::uint32_t>(args.num("window", 64));
  const auto size = static_cast<std::size_t>(std::max(8.0, args.num("size", 1024)));
  const double rate = args.num("rate", 0);
  const bool curve = args.flag("curve");

  zmq::context_t server_ctx{1}, client_ctx{1};
  zmq::socket_t router(server_ctx, zmq::socket_type::router);
  zmq::socket_t dealer(client_ctx, zmq::socket_type::dealer);
  router.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::sndhwm, 0);
  router.set(zmq::sockopt::rcvhwm, 0);
  dealer.set(zmq::sockopt::sndhwm, 0);
  dealer.set(zmq::sockopt::rcvhwm, 0);
  if (curve) {
    Keys server{}, client{};
    zmq_curve_keypair(server.pub, server.sec);
    zmq_curve_keypair(client.pub, client.sec);
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, std::string(server.sec, 40));
    dealer.set(zmq::sockopt::curve_serverkey, std::string(server.pub, 40));
    dealer.set(zmq::sockopt::curve_publickey, std::string(client.pub, 40));
    dealer.set(zmq::sockopt::curve_secretkey, std::string(client.sec, 40));
  }
  router.bind("tcp://127.0.0.1:*");
  dealer.connect(router.get(zmq::sockopt::last_endpoint));
  std::thread server([&] { run_router(router, messages + 1); });
  // One round trip first, so the connection (and handshake) is not measured.
  std::vector<char> frame(size, 'x');
  std::uint64_t warm = UINT64_MAX;
  std::memcpy(frame.data(), &warm, sizeof warm);
  dealer.send(zmq::buffer(frame), zmq::send_flags::none);
  zmq::message_t ack;
  (void)dealer.recv(ack);

  bench::RatePacer pacer(rate);
  std::vector<std::int64_t> sent_ns(messages);
  std::vector<std::uint64_t> latency;
  latency.reserve(messages);
  const bench::ProcessUsage usage_before = bench::self_usage();
  const auto start = Clock::now();
  auto now_ns = [&] { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count(); };
  std::uint64_t next = 0, done = 0;
  auto take_ack = [&](bool wait) {
    if (!dealer.recv(ack, wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait)) return false;
    std::uint64_t seq = 0;
    std::memcpy(&seq, ack.data(), sizeof seq);
    latency.push_back(static_cast<std::uint64_t>((now_ns() - sent_ns[seq]) / 1000));
    ++done;
    return true;
  };
  while (done < messages) {
    if (next < messages && next - done < window) {
      if (pacer.paced()) {
        auto due = start + pacer.due(next);
        if (Clock::now() < due) {
          // Take acks while waiting for the due time.
          while (Clock::now() < due && take_ack(false)) {
          }
          if (Clock::now() < due) {
            std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::microseconds(200)));
            continue;
          }
        }
        sent_ns[next] = std::chrono::duration_cast<std::chrono::nanoseconds>(pacer.due(next)).count();
      } else {
        sent_ns[next] = now_ns();
      }
      std::memcpy(frame.data(), &next, sizeof next);
      dealer.send(zmq::buffer(frame), zmq::send_flags::none);
      ++next;
      while (take_ack(false)) {
      }
    } else {
      take_ack(true);
    }
  }
  const double seconds = static_cast<double>(now_ns()) / 1e9;
  server.join();

  bench::RunReport report;
  report.config.system = curve ? "raw-zmq-curve" : "raw-zmq";
  report.config.messages = messages;
  report.config.window = window;
  report.config.payload_bytes = size;
  report.config.producers = 1;
  report.config.consumers = 1;
  report.config.rate = rate;
  report.submitted = report.accepted = report.delivered = messages;
  report.seconds = seconds;
  report.throughput = bench::throughput_of(report);
  report.latency_us = bench::summarize(latency);
  report.receipt_us = report.latency_us;
  // CPU of both ends and their ZeroMQ I/O threads (one process) for the timed round trips: the
  // transport's share of the cost floor (docs/performance.md).
  report.broker = bench::self_usage();
  report.broker.cpu_seconds -= usage_before.cpu_seconds;
  report.broker.source = "both ends, in-process getrusage";
  std::string fsync_dir = args.str("fsync-dir", "");
  bench::Percentiles fsync;
  if (!fsync_dir.empty()) fsync = fsync_probe(fsync_dir, static_cast<int>(args.num("fsync-count", 500)));
  if (args.flag("json")) {
    std::string json = bench::to_json(report);
    if (!fsync_dir.empty()) {
      json.pop_back();  // add "fsync_us" to the object
      json += ",\"fsync_us\":{\"count\":" + std::to_string(fsync.count) + ",\"p50\":" + std::to_string(fsync.p50) +
              ",\"p99\":" + std::to_string(fsync.p99) + ",\"p999\":" + std::to_string(fsync.p999) + "}}";
    }
    std::cout << json << "\n";
  } else {
    std::cout << bench::to_table(report);
    if (!fsync_dir.empty())
      std::cout << "  fsync (1 KiB)         p50 " << fsync.p50 << "  p99 " << fsync.p99 << "  p99.9 " << fsync.p999 << " us\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "raw_zmq: " << e.what() << "\n";
  return 2;
}
