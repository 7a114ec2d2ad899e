// RouterSocket's bounds on what it holds: libzmq's receive queue per connection sized by bytes,
// and a poll that stops at a byte budget. Real sockets on loopback with CurveZMQ.
#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <map>
#include <set>
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

namespace {

// A DEALER with `keys` connected to `socket`.
zmq::socket_t partner_dealer(zmq::context_t& context, const Keys& broker_keys, const Keys& keys, RouterSocket& socket) {
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::curve_serverkey, broker_keys.public_key);
  dealer.set(zmq::sockopt::curve_publickey, keys.public_key);
  dealer.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  dealer.connect(socket.endpoint());
  return dealer;
}

// Polls until `done` said so for an entry (a generous bound only against a hang); returns
// everything read, to the end of that poll's batch.
using Done = std::function<bool(const broker::transport::Incoming&)>;
std::vector<broker::transport::Incoming> poll_until(RouterSocket& socket, const Done& done) {
  std::vector<broker::transport::Incoming> all;
  for (int polls = 0; polls < 600; ++polls) {
    auto batch = socket.poll(50ms, 512, kMiB);
    REQUIRE(batch);
    bool finished = false;
    for (auto& in : *batch) {
      finished = done(in) || finished;
      all.push_back(std::move(in));
    }
    if (finished) return all;
  }
  FAIL("nothing came");
  return all;
}

}  // namespace

TEST_CASE("a connection whose peer went away is reported gone after its frames, and only that one",
          "[transport][fault]") {
  const Keys broker_keys = curve_keys(), partner_keys = curve_keys();
  RouterOptions options;
  options.endpoint = "tcp://127.0.0.1:*";
  options.secret_key = broker_keys.secret_key;
  options.partner_keys[partner_keys.public_key] = "BRAVO";
  auto socket = RouterSocket::bind(options);
  REQUIRE(socket);
  zmq::context_t context;

  // Ten connections one after the other, each sending one frame and closing (a crash loop): each
  // is reported gone once, after its frame; the descriptors the kernel hands out are reused.
  std::set<std::string> ids, gone;
  for (int i = 0; i < 10; ++i) {
    auto dealer = partner_dealer(context, broker_keys, partner_keys, *socket);
    REQUIRE(dealer.send(zmq::buffer("credit-" + std::to_string(i)), zmq::send_flags::none));
    const std::string frame = "credit-" + std::to_string(i);
    auto got = poll_until(*socket, [&](const auto& in) { return !in.gone && in.bytes == frame; });
    for (const auto& in : got) {
      if (in.gone) {
        gone.insert(in.routing_id);
      } else {
        REQUIRE(in.bytes == frame);
        CHECK(in.partner == "BRAVO");
        ids.insert(in.routing_id);
      }
    }
    dealer.close();
  }
  // A live connection, opened after the others closed: never reported gone.
  auto live = partner_dealer(context, broker_keys, partner_keys, *socket);
  REQUIRE(live.send(zmq::buffer(std::string("live")), zmq::send_flags::none));
  std::string live_id;
  poll_until(*socket, [&](const auto& in) {
    if (in.gone) gone.insert(in.routing_id);
    if (!in.gone && in.bytes == "live") live_id = in.routing_id;
    return gone.size() == ids.size() && !live_id.empty();
  });
  CHECK(gone == ids);
  CHECK(gone.count(live_id) == 0);
  // The socket agrees: a send to a gone one is refused, the live one gets its frame.
  CHECK_FALSE(socket->send(*ids.begin(), "deliver"));
  REQUIRE(socket->send(live_id, "deliver"));
  zmq::message_t m;
  live.set(zmq::sockopt::rcvtimeo, 10'000);
  REQUIRE(live.recv(m));
  CHECK(m.to_string() == "deliver");
}

TEST_CASE("a gateway key's frames come as its partner's, marked via_gateway; a partner key's are not", "[transport]") {
  const Keys broker_keys = curve_keys(), partner_keys = curve_keys(), gateway_keys = curve_keys();
  RouterOptions options;
  options.endpoint = "tcp://127.0.0.1:*";
  options.secret_key = broker_keys.secret_key;
  options.partner_keys[partner_keys.public_key] = "ALPHA";
  options.gateway_keys[gateway_keys.public_key] = "ALPHA";
  auto socket = RouterSocket::bind(options);
  REQUIRE(socket);
  zmq::context_t context;
  auto direct = partner_dealer(context, broker_keys, partner_keys, *socket);
  auto gateway = partner_dealer(context, broker_keys, gateway_keys, *socket);
  REQUIRE(direct.send(zmq::buffer(std::string("direct")), zmq::send_flags::none));
  REQUIRE(gateway.send(zmq::buffer(std::string("gateway")), zmq::send_flags::none));
  std::map<std::string, broker::transport::Incoming> by_bytes;
  poll_until(*socket, [&](const broker::transport::Incoming& in) {
    if (!in.gone) by_bytes[in.bytes] = in;
    return by_bytes.size() == 2;
  });
  REQUIRE(by_bytes.size() == 2);
  CHECK(by_bytes["direct"].partner == "ALPHA");
  CHECK_FALSE(by_bytes["direct"].via_gateway);
  CHECK(by_bytes["gateway"].partner == "ALPHA");
  CHECK(by_bytes["gateway"].via_gateway);
}
