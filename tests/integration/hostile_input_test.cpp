// Hostile input over a real socket: each bad frame gets the right error, then a valid message from
// the same connection is still accepted (the broker is alive and serving).
#include <catch2/catch.hpp>

#include <set>

#include <random>
#include <zmq.hpp>

#include "tests/support/broker_harness.h"

namespace {

using namespace std::chrono_literals;
using contracts::ErrorCode;

// A raw DEALER with ALPHA's key, speaking bytes rather than the SDK.
struct RawClient {
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};

  RawClient(const test_support::BrokerHarness& h, const std::string& partner) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::curve_serverkey, h.broker_keys().public_key);
    socket.set(zmq::sockopt::curve_publickey, h.keys(partner).public_key);
    socket.set(zmq::sockopt::curve_secretkey, h.keys(partner).secret_key);
    socket.set(zmq::sockopt::rcvtimeo, 5000);
    socket.connect(h.endpoint());
  }

  void send_raw(const std::string& bytes) { socket.send(zmq::buffer(bytes), zmq::send_flags::none); }

  contracts::Envelope receive() {
    zmq::message_t m;
    REQUIRE(socket.recv(m));
    auto e = contracts::decode_envelope(std::span(static_cast<const std::byte*>(m.data()), m.size()));
    REQUIRE(e);
    return *e;
  }

  ErrorCode error_code() {
    auto e = receive();
    REQUIRE(std::holds_alternative<contracts::ErrorFrame>(e));
    return std::get<contracts::ErrorFrame>(e).code;
  }

  contracts::Receipt receipt() {
    auto e = receive();
    REQUIRE(std::holds_alternative<contracts::Receipt>(e));
    return std::get<contracts::Receipt>(e);
  }
};

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace

TEST_CASE("bad frames get a named error and the broker keeps serving", "[integration][hostile]") {
  test_support::BrokerHarness h;
  h.options().max_message_bytes = 64 * 1024;
  h.start();
  RawClient raw(h, "ALPHA");
  std::string valid = contracts::encode_envelope(test_support::notice());

  struct Case {
    const char* name;
    std::string bytes;
    ErrorCode code;
  };
  std::string wrong_id = valid;
  wrong_id[4] = 'X';  // file identifier KTN1 -> XTN1
  std::string forged_offset = valid;
  forged_offset[0] = static_cast<char>(0xff);  // root offset far outside the buffer
  forged_offset[1] = static_cast<char>(0xff);
  auto c = GENERATE_COPY(
      Case{"empty frame", "", ErrorCode::kMalformedEnvelope},
      Case{"random bytes", random_bytes(300, 7), ErrorCode::kMalformedEnvelope},
      Case{"truncated flatbuffer", valid.substr(0, valid.size() / 2), ErrorCode::kMalformedEnvelope},
      Case{"wrong file identifier", wrong_id, ErrorCode::kMalformedEnvelope},
      Case{"forged root offset", forged_offset, ErrorCode::kMalformedEnvelope},
      Case{"oversized frame", std::string(100 * 1024, 'x'), ErrorCode::kTooLarge},
      Case{"a frame only the broker may send", contracts::encode_envelope(contracts::Receipt{}), ErrorCode::kProtocol});
  INFO(c.name);
  raw.send_raw(c.bytes);
  CHECK(raw.error_code() == c.code);

  raw.send_raw(contracts::encode_envelope(test_support::notice()));
  CHECK(raw.receipt().status == contracts::ReceiptStatus::kAccepted);
}

TEST_CASE("a multi-frame message is refused as one error", "[integration][hostile]") {
  test_support::BrokerHarness h;
  h.start();
  RawClient raw(h, "ALPHA");
  std::string valid = contracts::encode_envelope(test_support::notice());
  raw.socket.send(zmq::buffer(valid), zmq::send_flags::sndmore);
  raw.socket.send(zmq::buffer(std::string("junk")), zmq::send_flags::none);
  CHECK(raw.error_code() == ErrorCode::kMalformedEnvelope);
  raw.send_raw(contracts::encode_envelope(test_support::notice()));
  CHECK(raw.receipt().status == contracts::ReceiptStatus::kAccepted);
}

TEST_CASE("an ack for a delivery the partner never got is refused", "[integration][hostile]") {
  test_support::BrokerHarness h;
  h.start();
  RawClient raw(h, "BRAVO");
  raw.send_raw(contracts::encode_envelope(contracts::Ack{424242}));
  auto e = raw.receive();
  REQUIRE(std::holds_alternative<contracts::ErrorFrame>(e));
  CHECK(std::get<contracts::ErrorFrame>(e).code == ErrorCode::kUnknownDelivery);
  CHECK(std::get<contracts::ErrorFrame>(e).delivery_id == 424242);
}

TEST_CASE("every rejection reason reaches the sender as a receipt naming the field", "[integration][hostile]") {
  test_support::BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  auto bad = test_support::notice();
  bad.payload = R"({"planned_at":"2025-13-01T00:00:00Z","location":"AZC-TER-APEL","items":[{"id":"AB1234"}]})";
  auto r = alpha.send(bad);
  REQUIRE(r);
  CHECK(r->status == contracts::ReceiptStatus::kRejected);
  CHECK(r->code == ErrorCode::kSchemaViolation);
  std::set<std::string> pointers;
  for (const auto& e : r->errors) pointers.insert(e.pointer);
  CHECK(pointers.count("/planned_at") == 1);
  CHECK(pointers.count("/items/0/count") == 1);
}
