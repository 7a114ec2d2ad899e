// RouterSocket's bounds on what it holds: libzmq's receive queue per connection sized by bytes,
// and a poll that stops at a byte budget. Real sockets on loopback with CurveZMQ.
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "broker/transport/router_socket.h"

namespace {

using broker::transport::receive_high_water_mark;
using broker::transport::RouterOptions;
using broker::transport::RouterSocket;
using namespace std::chrono_literals;

constexpr std::size_t kMiB = 1 << 20;

struct Keys {
  std::string public_key, secret_key;
};

Keys curve_keys() {
  std::array<char, 41> pub{}, sec{};
  REQUIRE(zmq_curve_keypair(pub.data(), sec.data()) == 0);
  return {pub.data(), sec.data()};
}

}  // namespace

TEST_CASE("libzmq's receive queue per connection is sized by bytes", "[transport]") {
  CHECK(receive_high_water_mark(4 * kMiB, 256 * kMiB) == 64);     // the default 1 MiB limit
  CHECK(receive_high_water_mark(256 * kMiB, 256 * kMiB) == 1);    // the largest limit: one frame
  CHECK(receive_high_water_mark(1024 * kMiB, 256 * kMiB) == 1);   // never zero (zero is "no limit")
  CHECK(receive_high_water_mark(4096, 256 * kMiB) == 10'000);     // small frames: a count bound
  CHECK(receive_high_water_mark(0, 256 * kMiB) == 10'000);
}

TEST_CASE("a poll stops at its byte budget and the next poll takes the rest", "[transport]") {
  const Keys broker_keys = curve_keys(), partner_keys = curve_keys();
  RouterOptions options;
  options.endpoint = "tcp://127.0.0.1:*";
  options.secret_key = broker_keys.secret_key;
  options.partner_keys[partner_keys.public_key] = "ALPHA";
  auto socket = RouterSocket::bind(options);
  REQUIRE(socket);

  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::curve_serverkey, broker_keys.public_key);
  dealer.set(zmq::sockopt::curve_publickey, partner_keys.public_key);
  dealer.set(zmq::sockopt::curve_secretkey, partner_keys.secret_key);
  dealer.connect(socket->endpoint());
  // A first frame through, so the handshake (answered by poll) is done before the large ones.
  REQUIRE(dealer.send(zmq::buffer(std::string("hello")), zmq::send_flags::none));
  std::vector<broker::transport::Incoming> hello;
  for (int polls = 0; hello.empty() && polls < 200; ++polls) {
    auto batch = socket->poll(50ms, 512, kMiB);
    REQUIRE(batch);
    hello = std::move(*batch);
  }
  REQUIRE(hello.size() == 1);
  for (char c = 'a'; c < 'f'; ++c) REQUIRE(dealer.send(zmq::buffer(std::string(kMiB, c)), zmq::send_flags::none));
  std::this_thread::sleep_for(500ms);  // all five queued in libzmq, so a poll could take them all

  std::string seen;
  for (int polls = 0; seen.size() < 5 && polls < 200; ++polls) {
    auto batch = socket->poll(50ms, 512, 2 * kMiB);
    REQUIRE(batch);
    CHECK(batch->size() <= 2);  // the second 1 MiB frame reaches the budget
    for (const auto& in : *batch) {
      CHECK(in.partner == "ALPHA");
      REQUIRE(in.bytes.size() == kMiB);
      seen += in.bytes.front();
    }
  }
  CHECK(seen == "abcde");  // nothing dropped, in order

  // At least one frame, however small the budget.
  REQUIRE(dealer.send(zmq::buffer(std::string(kMiB, 'z')), zmq::send_flags::none));
  std::vector<broker::transport::Incoming> one;
  for (int polls = 0; one.empty() && polls < 200; ++polls) {
    auto batch = socket->poll(50ms, 512, 1);
    REQUIRE(batch);
    one = std::move(*batch);
  }
  REQUIRE(one.size() == 1);
  CHECK(one.front().bytes == std::string(kMiB, 'z'));
}
