#pragma once
// RouterSocket: the broker's one ZeroMQ ROUTER socket with CurveZMQ, and the ZAP handler that admits
// only configured partner keys and names the partner behind each connection. It owns its ZeroMQ
// context and sockets and nothing else; cppzmq stays inside router_socket.cpp.
//
// Threading: create, poll and send from one thread (the broker loop). Movable, not copyable.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "contracts/error.h"

namespace broker::transport {

using contracts::Result;

struct RouterOptions {
  std::string endpoint;                            // e.g. "tcp://127.0.0.1:5555" or "tcp://127.0.0.1:*"
  std::string secret_key;                          // broker's Curve secret key, Z85
  std::map<std::string, std::string> partner_keys;  // Curve public key (Z85) -> partner id
  // Curve public key (Z85) -> partner id for the HTTPS API's own connections (in-memory keys that
  // only this process holds): their messages come with Incoming::via_gateway set.
  std::map<std::string, std::string> gateway_keys;
  std::size_t hard_max_bytes = 4 << 20;            // libzmq drops a connection sending more (ZMQ_MAXMSGSIZE)
  std::size_t queue_bytes = 256 << 20;             // what libzmq may queue per connection (see below)
};

// libzmq bounds its queue of received messages per connection by a count (ZMQ_RCVHWM), not by
// bytes; a partner flooding frames of `hard_max_bytes` fills it before the broker reads them. The
// count is chosen so that the queue holds at most `queue_bytes`: queue_bytes / hard_max_bytes,
// at least 1 and at most 10 000 (the bound for small frames).
int receive_high_water_mark(std::size_t hard_max_bytes, std::size_t queue_bytes);

// One ZeroMQ message read from a partner connection, or the news that a connection is gone.
struct Incoming {
  std::string routing_id;  // opaque connection id, for replies
  std::string partner;     // partner id from the ZAP handler (never from the message itself)
  std::string bytes;       // the frame
  bool multipart = false;  // the message had more than one frame (a protocol error)
  bool via_gateway = false;  // the connection uses a RouterOptions::gateway_keys key (the HTTPS API)
  // Not a message: the connection `routing_id` has ended (the peer disconnected); `partner` and
  // `bytes` are empty. It comes after every message of that connection read so far.
  bool gone = false;
};

class RouterSocket {
 public:
  // Binds the endpoint and the ZAP handler. kTransport naming the endpoint on failure, kConfig for
  // a bad key.
  [[nodiscard]] static Result<RouterSocket> bind(const RouterOptions& options);

  RouterSocket(RouterSocket&&) noexcept;
  RouterSocket& operator=(RouterSocket&&) noexcept;
  ~RouterSocket();

  // The bound endpoint with the real port (useful after binding port *).
  std::string endpoint() const;

  // Waits up to `timeout` for traffic, answers ZAP requests, then reads without blocking up to
  // `max_batch` messages, stopping early once they hold `max_bytes` (always at least one message).
  // Connections the socket monitor saw end are reported in the same vector as `gone` entries, in
  // order with the messages (see ConnectionTracker). An empty vector means nothing arrived.
  // kTransport on a socket failure.
  [[nodiscard]] Result<std::vector<Incoming>> poll(std::chrono::milliseconds timeout, std::size_t max_batch,
                                                   std::size_t max_bytes);

  // Sends one frame to a connection. kTransport when the connection is gone (ROUTER_MANDATORY:
  // EHOSTUNREACH) or its queue is full; either way the frame was not handed to the connection (it
  // is dropped: callers keep state in the store, not in the socket).
  [[nodiscard]] Result<void> send(const std::string& routing_id, const std::string& bytes);

 private:
  struct Impl;
  explicit RouterSocket(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes a Z85 Curve key to its 32 bytes; empty string when `z85` is not a 40-character Z85 key.
std::string decode_curve_key(const std::string& z85);
// The Z85 public key belonging to a Z85 secret key; empty when the secret is invalid.
std::string curve_public_key(const std::string& secret_z85);

}  // namespace broker::transport
