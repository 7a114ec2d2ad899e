// rabbit_bench: the RabbitMQ peer of docs/performance.md, with the guarantees Keten gives by
// default: a durable classic queue, persistent messages (delivery_mode 2), publisher confirms with
// --window publishes in flight (RabbitMQ confirms only after the message is fsync'd to disk), and a
// consumer that acknowledges each delivery (prefetch = --window). One publisher and one consumer
// connection, in one process. Latency: publish (or due time with --rate) -> consumer ack sent.
// Prints one JSON object (bench/report.h) with --json, else a table.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench/args.h"
#include "bench/pacing.h"
#include "bench/report.h"
#include "bench/stats.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check_reply(amqp_rpc_reply_t reply, const std::string& what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
    throw Failure(what + ": " + amqp_error_string2(reply.library_error));
  throw Failure(what + ": server error (method " + std::to_string(reply.reply.id) + ")");
}

amqp_connection_state_t open_connection(const std::string& host, int port) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (!socket) throw Failure("amqp_tcp_socket_new failed");
  if (amqp_socket_open(socket, host.c_str(), port) != AMQP_STATUS_OK)
    throw Failure("cannot connect to RabbitMQ at " + host + ":" + std::to_string(port));
  check_reply(amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
  amqp_channel_open(conn, 1);
  check_reply(amqp_get_rpc_reply(conn), "channel.open");
  return conn;
}

void close_connection(amqp_connection_state_t conn) {
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

struct Shared {
  std::uint64_t messages;
  std::uint32_t window;
  Clock::time_point start;
  std::vector<std::atomic<std::int64_t>> sent_ns;
  std::atomic<bool> consumer_ready{false};
  std::atomic<std::uint64_t> delivered{0}, redelivered{0};
  std::atomic<std::int64_t> last_ns{0};
  std::vector<std::uint64_t> latency, confirm;
  std::string error;
  explicit Shared(std::uint64_t n, std::uint32_t w) : messages(n), window(w), sent_ns(n) {}
  std::int64_t now_ns() const { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count(); }
};

void consume(Shared& s, const std::string& host, int port, const std::string& queue) {
  auto conn = open_connection(host, port);
  amqp_basic_qos(conn, 1, 0, static_cast<std::uint16_t>(std::min<std::uint32_t>(s.window, 65535)), 0);
  check_reply(amqp_get_rpc_reply(conn), "basic.qos");
  amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "basic.consume");
  s.consumer_ready = true;
  std::vector<char> seen(s.messages, 0);
  s.latency.reserve(s.messages);
  auto deadline = Clock::now() + std::chrono::minutes(10);
  while (s.delivered < s.messages && Clock::now() < deadline) {
    amqp_maybe_release_buffers(conn);
    amqp_envelope_t envelope;
    timeval timeout{0, 100'000};
    amqp_rpc_reply_t reply = amqp_consume_message(conn, &envelope, &timeout, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) continue;
    check_reply(reply, "consume");
    std::uint64_t seq = UINT64_MAX;
    if (envelope.message.body.len >= sizeof seq) std::memcpy(&seq, envelope.message.body.bytes, sizeof seq);
    if (amqp_basic_ack(conn, 1, envelope.delivery_tag, 0) != 0) throw Failure("basic.ack failed");
    if (seq < s.messages) {
      if (!seen[seq]) {
        seen[seq] = 1;
        s.latency.push_back(static_cast<std::uint64_t>((s.now_ns() - s.sent_ns[seq].load()) / 1000));
        s.delivered++;
        s.last_ns = s.now_ns();
      } else {
        s.redelivered++;
      }
    }
    amqp_destroy_envelope(&envelope);
  }
  close_connection(conn);
}

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json"});
  const auto messages = static_cast<std::uint64_t>(args.num("messages", 20000));
  const auto window = static_cast<std::uint32_t>(args.num("window", 64));
  const auto size = static_cast<std::size_t>(std::max(8.0, args.num("size", 1024)));
  const double rate = args.num("rate", 0);
  const std::string host = args.str("host", "127.0.0.1");
  const int port = static_cast<int>(args.num("port", 5672));
  const std::string queue = "keten-bench-" + std::to_string(getpid());

  Shared s(messages, window);
  auto pub = open_connection(host, port);
  amqp_queue_declare(pub, 1, amqp_cstring_bytes(queue.c_str()), 0, /*durable*/ 1, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(pub), "queue.declare");
  amqp_confirm_select(pub, 1);
  check_reply(amqp_get_rpc_reply(pub), "confirm.select");

  s.start = Clock::now();
  std::thread consumer([&] {
    try {
      consume(s, host, port, queue);
    } catch (const std::exception& e) {
      s.error = std::string("consumer: ") + e.what();
      s.consumer_ready = true;
    }
  });
  while (!s.consumer_ready) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  s.start = Clock::now();  // consumer threads read start only after deliveries exist

  bench::RatePacer pacer(rate);
  std::vector<char> body(size, 'x');
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.delivery_mode = 2;  // persistent
  props.content_type = amqp_cstring_bytes("application/json");
  std::uint64_t published = 0, confirmed = 0, nacked = 0;
  s.confirm.reserve(messages);
  // Delivery tags of a confirm channel count publishes from 1: tag t is message t - 1.
  auto on_confirm = [&](std::uint64_t tag, bool multiple, bool ack) {
    std::uint64_t from = multiple ? confirmed : tag - 1;
    for (std::uint64_t seq = from; seq < tag; ++seq) {
      s.confirm.push_back(static_cast<std::uint64_t>((s.now_ns() - s.sent_ns[seq].load()) / 1000));
      if (!ack) ++nacked;
    }
    confirmed = std::max(confirmed, tag);
  };
  auto read_confirms = [&](bool block) {
    amqp_frame_t frame;
    timeval zero{0, 0}, wait{1, 0};
    while (true) {
      int status = amqp_simple_wait_frame_noblock(pub, &frame, block ? &wait : &zero);
      if (status == AMQP_STATUS_TIMEOUT) return;
      if (status != AMQP_STATUS_OK) throw Failure(std::string("waiting for confirms: ") + amqp_error_string2(status));
      if (frame.frame_type == AMQP_FRAME_METHOD) {
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
          auto* a = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
          on_confirm(a->delivery_tag, a->multiple, true);
        } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
          auto* n = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
          on_confirm(n->delivery_tag, n->multiple, false);
        }
      }
      block = false;  // then take whatever else is already there
    }
  };
  while (confirmed < messages && s.error.empty()) {
    if (published < messages && published - confirmed < window) {
      if (pacer.paced()) {
        auto due = s.start + pacer.due(published);
        if (Clock::now() < due) {
          read_confirms(false);
          std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::microseconds(200)));
          continue;
        }
        s.sent_ns[published] = std::chrono::duration_cast<std::chrono::nanoseconds>(pacer.due(published)).count();
      } else {
        s.sent_ns[published] = s.now_ns();
      }
      std::memcpy(body.data(), &published, sizeof published);
      amqp_bytes_t bytes{body.size(), body.data()};
      if (amqp_basic_publish(pub, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0, &props, bytes) != 0)
        throw Failure("basic.publish failed");
      ++published;
      read_confirms(false);
    } else {
      read_confirms(true);
    }
  }
  consumer.join();
  amqp_queue_delete(pub, 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
  close_connection(pub);

  bench::RunReport report;
  report.config.system = "rabbitmq";
  report.config.messages = messages;
  report.config.window = window;
  report.config.payload_bytes = size;
  report.config.producers = 1;
  report.config.consumers = 1;
  report.config.rate = rate;
  report.submitted = published;
  report.accepted = confirmed - nacked;
  report.rejected = nacked;
  report.delivered = s.delivered;
  report.redelivered = s.redelivered;
  report.seconds = static_cast<double>(s.last_ns.load()) / 1e9;
  report.throughput = bench::throughput_of(report);
  report.latency_us = bench::summarize(std::move(s.latency));
  report.receipt_us = bench::summarize(std::move(s.confirm));
  report.error = s.error;
  if (report.error.empty() && report.delivered < messages)
    report.error = "only " + std::to_string(report.delivered) + " of " + std::to_string(messages) + " delivered";
  std::cout << (args.flag("json") ? bench::to_json(report) + "\n" : bench::to_table(report));
  return report.error.empty() ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "rabbit_bench: " << e.what() << "\n";
  return 1;
}
