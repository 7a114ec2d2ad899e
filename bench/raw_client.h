#pragma once
// What the bench's raw CurveZMQ clients (wire_batch, fairness) share: a DEALER connected to a bench
// broker as a partner, and a bench Submit of the 1 KiB sample. Header-only (cppzmq is).

#include <zmq.h>

#include <stdexcept>
#include <string>
#include <zmq.hpp>

#include "adapters/sdk/client.h"
#include "contracts/envelope.h"

namespace bench {

// Sets the Curve keys of `p` on `socket` (a DEALER), a receive timeout, and connects.
inline void connect_as(zmq::socket_t& socket, const partner::Profile& p, int receive_timeout_ms) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::curve_serverkey, p.broker_public_key);
  char public_key[41] = {};
  if (zmq_curve_public(public_key, p.secret_key.c_str()) != 0) throw std::runtime_error("bad secret key");
  socket.set(zmq::sockopt::curve_publickey, std::string(public_key));
  socket.set(zmq::sockopt::curve_secretkey, p.secret_key);
  socket.set(zmq::sockopt::rcvtimeo, receive_timeout_ms);
  socket.connect(p.broker);
}

// A version-1 submit of `contract` in the bench's one case, occurred and recorded now.
inline contracts::Submit bench_submit(const std::string& contract, const std::string& id, const std::string& payload) {
  contracts::Submit s;
  s.header.message_id = id;
  s.header.contract = contract;
  s.header.version = 1;
  s.header.case_ref = "9990012345";
  s.header.occurred_at = contracts::now_millis();
  s.header.recorded_at = s.header.occurred_at;
  s.payload = payload;
  return s;
}

}  // namespace bench
