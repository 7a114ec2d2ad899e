#pragma once
// How the HTTPS API reaches the broker loop: as ZeroMQ partner connections of its own, so that
// validation, ownership, dedupe, rate limits, redaction, consent, credit, redelivery and the
// handover log are the broker's own code, unchanged (docs/http-api.md, "How it works").
//
// Each partner that may use the API gets a Curve key pair made at start and held only in this
// process (GatewayKeys). The broker admits those keys as that partner and marks their connections
// as the gateway's (transport::Incoming::via_gateway), which is what lets their submits carry the
// origin `https:...` naming the client certificate. A SubmitLink is one DEALER for one HTTP
// connection's submits; a DeliverySession is the one DEALER per partner that holds its deliveries
// between a GET /v1/deliveries and the ack.
//
// Threading: GatewayKeys is read-only after generate(). A SubmitLink belongs to one thread. A
// DeliverySession may be used from any thread: every use of its socket holds its mutex.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace broker::http_api {

struct CurvePair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

class GatewayKeys {
 public:
  // One fresh key pair per partner id.
  static GatewayKeys generate(const std::vector<std::string>& partner_ids);
  // Public key -> partner id, for BrokerOptions::gateway_keys.
  std::map<std::string, std::string> public_to_partner() const;
  const CurvePair* find(const std::string& partner) const;

 private:
  std::map<std::string, CurvePair> by_partner_;
};

// Where and how to connect: the broker's endpoint as seen from this process and its public key.
struct BrokerAddress {
  std::string endpoint;    // e.g. tcp://127.0.0.1:5555
  std::string server_key;  // broker's Curve public key, Z85
  std::chrono::milliseconds ack_timeout{30'000};  // the broker's ack_timeout_ms
};

// The broker's endpoint for a local client: a wildcard host (`*`, 0.0.0.0) becomes 127.0.0.1.
std::string local_endpoint(const std::string& bound);

// One DEALER connected as `partner` through its gateway key. Used by one thread at a time.
class GatewaySocket {
 public:
  [[nodiscard]] static contracts::Result<GatewaySocket> connect(zmq::context_t& context, const BrokerAddress& broker,
                                                                const CurvePair& keys);
  GatewaySocket(GatewaySocket&&) noexcept;
  GatewaySocket& operator=(GatewaySocket&&) noexcept;
  ~GatewaySocket();

  [[nodiscard]] contracts::Result<void> send(const contracts::Envelope& frame);
  // The next frame within `timeout`; std::nullopt when none came; kTransport on socket failure,
  // kMalformedEnvelope when the broker's frame does not decode (never expected).
  [[nodiscard]] contracts::Result<std::optional<contracts::Envelope>> receive(std::chrono::milliseconds timeout);

 private:
  explicit GatewaySocket(std::unique_ptr<zmq::socket_t> socket);
  std::unique_ptr<zmq::socket_t> socket_;
};

// Submits over one GatewaySocket: the receipt(s), or kTimeout when the broker did not answer within
// `timeout`, or the Error frame's code and detail (kTooLarge, kMalformedEnvelope, ...).
[[nodiscard]] contracts::Result<std::vector<contracts::Receipt>> submit(GatewaySocket& socket,
                                                                       std::vector<contracts::Submit> messages,
                                                                       bool as_batch, std::chrono::milliseconds timeout);

// The deliveries of one partner, held on one connection between the GET that hands them out and
// the ack. The credit window is what the outstanding GETs asked for plus the deliveries handed out
// and not yet answered; the broker redelivers what is not acked within its ack_timeout_ms, and
// everything the session holds when it ends.
class DeliverySession {
 public:
  // `ack_timeout` is the broker's ack_timeout_ms: a delivery handed out and not answered that long
  // is the broker's again (it offers it anew, perhaps on another connection of the partner), so the
  // session forgets it then.
  DeliverySession(GatewaySocket socket, std::chrono::milliseconds ack_timeout)
      : socket_(std::move(socket)), ack_timeout_(ack_timeout) {}

  // Up to `max` deliveries not handed out before (or redelivered since), waiting up to `wait` for
  // the first. Empty when none came. kTransport when the socket failed.
  [[nodiscard]] contracts::Result<std::vector<contracts::Deliver>> take(std::uint32_t max, std::chrono::milliseconds wait);
  // Acknowledges (nack = false) or refuses one delivery and waits for the broker to have taken
  // it: kUnknownDelivery when the broker says this partner does not hold `id`, kTimeout when it
  // did not answer in time.
  [[nodiscard]] contracts::Result<void> answer(std::uint64_t id, bool nack, const std::string& reason,
                                               std::chrono::milliseconds timeout);
  // Reports an acknowledged delivery processed (docs/protocol.md, "Processed") and waits for the
  // broker to have taken it: the broker's refusal (kUnknownDelivery, kProtocol, kTooLarge) as an
  // error, kTimeout when it did not answer in time. Needs no delivery held here: any connection of
  // the partner may report.
  [[nodiscard]] contracts::Result<void> report_processed(const contracts::Processed& report,
                                                         std::chrono::milliseconds timeout);
  // Keeps the connection alive for the broker (a Heartbeat) and reads what arrived. Called by the
  // API's housekeeping thread every few seconds.
  void keep_alive();

 private:
  // Reads frames for up to `timeout` (0: only what is queued) into held_, refused_ and
  // heartbeats_answered_; returns early once `done()` is true. Called with mu_ held.
  contracts::Result<void> pump(std::chrono::milliseconds timeout, const std::function<bool()>& done);
  // Sets the window. 0 closes it (Credit{0}): the broker takes back what it sent and not yet
  // handed out, so nothing waits here, counting attempts, while no GET asks for it.
  contracts::Result<void> set_credit(std::uint32_t credit);
  contracts::Result<void> send_heartbeat();
  void forget_expired();
  void forget(std::uint64_t id);

  std::mutex mu_;
  GatewaySocket socket_;
  std::map<std::uint64_t, contracts::Deliver> held_;  // received, not yet answered
  std::map<std::uint64_t, bool> handed_;              // delivery id -> handed out by a GET
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> handed_at_;
  std::chrono::milliseconds ack_timeout_;
  std::map<std::uint64_t, contracts::ErrorFrame> refused_;  // Error answers (acks, reports) by delivery id
  std::uint32_t asked_ = 0;   // the `max` of the GETs waiting now, together
  std::uint32_t credit_ = 0;  // 0: no window open (the broker holds no session for this connection)
  // Heartbeats sent and answered. The broker answers a connection's frames in order, so once every
  // heartbeat sent after an ack is answered, an Error for that ack has arrived if any; and a
  // Deliver that arrives before the answer to the heartbeat sent with a Credit{0} was sent before
  // the broker took everything back (stale_until_), so it is not held.
  std::uint64_t heartbeats_sent_ = 0;
  std::uint64_t heartbeats_answered_ = 0;
  std::uint64_t stale_until_ = 0;
};

}  // namespace broker::http_api
