#pragma once
// A plain Curve ROUTER that stands in for the broker in the SDK's unit tests, and helpers to make
// profiles, submits, receipts and deliveries for it. The router has no ZAP handler, so libzmq
// admits any client key.
#include <zmq.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "adapters/sdk/client.h"

namespace sdk_test {

using namespace std::chrono_literals;
using contracts::Envelope;
using contracts::ErrorCode;
using Clock = std::chrono::steady_clock;

struct Keys {
  std::string public_key;
  std::string secret_key;
};

inline Keys make_keys() {
  std::array<char, 41> public_key{};
  std::array<char, 41> secret_key{};
  REQUIRE(zmq_curve_keypair(public_key.data(), secret_key.data()) == 0);
  return {public_key.data(), secret_key.data()};
}

// One message as the router saw it.
struct Received {
  std::string routing_id;
  std::size_t frames = 0;  // frames after the routing id: the protocol wants exactly one
  std::optional<Envelope> envelope;
};

class TestRouter {
 public:
  // Binds tcp://127.0.0.1:* unless `endpoint` names one (to come back on the same port).
  explicit TestRouter(Keys keys = make_keys(), const std::string& endpoint = "tcp://127.0.0.1:*")
      : keys_(std::move(keys)), socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, keys_.secret_key);
    socket_.bind(endpoint);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }
  const Keys& keys() const { return keys_; }
  zmq::context_t& context() { return context_; }

  std::optional<Received> receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    std::vector<zmq::message_t> parts;
    (void)zmq::recv_multipart(socket_, std::back_inserter(parts));
    Received r;
    r.routing_id = parts.front().to_string();
    r.frames = parts.size() - 1;
    // Copied: libzmq's buffer may be misaligned for FlatBuffers (see client.cpp).
    const std::string bytes = parts.back().to_string();
    auto decoded = contracts::decode_envelope(std::as_bytes(std::span(bytes.data(), bytes.size())));
    if (decoded) r.envelope = std::move(*decoded);
    return r;
  }

  // The next frame of type T, skipping heartbeats (unless T is Heartbeat); nullopt on timeout or
  // any other frame.
  template <class T>
  std::optional<std::pair<std::string, T>> expect(std::chrono::milliseconds timeout = 5s) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      auto r = receive(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()));
      if (!r || !r->envelope) return std::nullopt;
      if (auto* t = std::get_if<T>(&*r->envelope))
        return std::make_pair(r->routing_id, std::move(*t));
      if (!std::holds_alternative<contracts::Heartbeat>(*r->envelope)) return std::nullopt;
    }
    return std::nullopt;
  }

  void send(const std::string& routing_id, const Envelope& envelope) {
    std::string bytes = contracts::encode_envelope(envelope);
    socket_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

 private:
  Keys keys_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
};

inline partner::Profile profile_for(const TestRouter& router) {
  Keys ours = make_keys();
  partner::Profile p;
  p.broker = router.endpoint();
  p.broker_public_key = router.keys().public_key;
  p.partner = "DTV";
  p.secret_key = ours.secret_key;
  p.public_key = ours.public_key;
  return p;
}

inline contracts::Submit a_submit() {
  contracts::Submit s;
  s.header.message_id = partner::new_message_id();
  s.header.contract = "departure.scheduled";
  s.header.version = 2;
  s.header.case_ref = "9990012345";
  s.header.recipients = {"KMAR", "DJI"};
  s.header.correlation_id = "corr-1";
  s.header.occurred_at = 1'741'000'000'000;
  s.header.recorded_at = 1'741'000'060'000;
  s.payload = R"({"departure_at":"2025-03-05T06:00:00+01:00"})";
  return s;
}

inline contracts::Receipt accepted(const std::string& message_id) {
  contracts::Receipt r;
  r.message_id = message_id;
  r.status = contracts::ReceiptStatus::kAccepted;
  r.recipients = {"KMAR", "DJI"};
  r.log_seq = 42;
  r.accepted_at = 1'741'000'120'000;
  return r;
}

inline contracts::Deliver a_delivery(std::uint64_t id) {
  contracts::Deliver d;
  d.delivery_id = id;
  d.attempt = 1;
  d.header = a_submit().header;
  d.sender = "IND";
  d.accepted_at = 1'741'000'120'000;
  d.payload = R"({"x":1})";
  d.removed_fields = {"/medical"};
  return d;
}

// Runs `body` with a fresh client on its own thread; the client closes when `body` returns.
template <class Body>
auto with_client(partner::Profile profile, partner::ClientOptions options, Body body) {
  return std::async(std::launch::async, [profile = std::move(profile), options, body]() {
    auto client = partner::Client::connect(profile, options);
    // Catch2 assertions belong to the test's thread; future.get() rethrows this there.
    if (!client) throw std::runtime_error("connect: " + client.error().detail);
    return body(*client);
  });
}

}  // namespace sdk_test
