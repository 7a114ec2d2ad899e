// partner::Client: a DEALER socket speaking the Keten frames (docs/protocol.md) to the broker.
//
// Socket choices, and why:
// - ZMQ_IMMEDIATE=0 (the default, set explicitly): frames sent before the CurveZMQ handshake has
//   completed wait in the socket's queue and leave once it completes, so send() and the Credit
//   hello never block or fail with EAGAIN right after connect(). The queue also survives a broken
//   connection, so frames sent during an outage go out after ZeroMQ reconnects. The price is that
//   frames queued for a connection that never comes (refused key, wrong broker key) sit there
//   until close().
// - One socket for the client's life: send() never replaces it to resend. A receipt always goes to
//   the connection its Submit came on, so a client that hung up on a slow broker would miss it;
//   ZeroMQ itself reconnects when the connection is really gone (TCP closed, or no ZMTP heartbeat
//   answer), and the monitor tells send() to resend on the new connection.
// - ZMQ_LINGER: options.linger (default 100 ms) on close(), so a final ack or Credit{0} usually
//   leaves but exit stays prompt.
// - ZMTP heartbeats (ZMQ_HEARTBEAT_IVL/TIMEOUT) let ZeroMQ notice a dead TCP connection and
//   reconnect; our own Heartbeat frames tell the broker's loop that we are alive.
// - A socket monitor reports handshakes and disconnects. After each new handshake the client
//   grants its credit again, since the broker delivers nothing to a connection before a Credit.
#include "adapters/sdk/client.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <algorithm>
#include <array>
#include <variant>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <limits>
#include <span>
#include <vector>
#include <utility>
#include <zmq.hpp>

#include "adapters/sdk/log.h"
#include "adapters/sdk/resend_schedule.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/receipt_signature.h"
#include "contracts/digest.h"

namespace partner {
namespace {

using Clock = std::chrono::steady_clock;
using contracts::Envelope;
using contracts::Error;
using contracts::ErrorCode;
using std::chrono::milliseconds;

// Why an accepted or duplicate receipt's checkpoint is no evidence, or "" when it is: a signed
// checkpoint note by the broker's key (`verifier`, under the origin the note names) whose tree
// holds the receipt's event (docs/protocol.md, "Receipt").
std::string check_receipt_checkpoint(const contracts::Receipt& receipt, broker::tlog::ReceiptVerifier& verifier) {
  if (receipt.checkpoint.empty()) return "the receipt carries no checkpoint, but the profile names a broker signing key";
  auto checkpoint = verifier.open_checkpoint(receipt.checkpoint);
  if (!checkpoint) return "the receipt's checkpoint does not verify with the broker signing key: " + checkpoint.error().detail;
  if (checkpoint->size < receipt.log_seq) {
    return "the receipt's checkpoint (tree size " + std::to_string(checkpoint->size) + ") does not hold its event " +
           std::to_string(receipt.log_seq);
  }
  return {};
}

constexpr std::size_t kDeliveryErrorsKept = 1000;  // Errors about deliveries kept for take_delivery_errors()
constexpr int kHighWaterMark = 1000;  // frames queued each way; credit bounds deliveries anyway
constexpr int kReconnectIvlMs = 100;  // first reconnect attempt after a broken connection
constexpr int kReconnectIvlMaxMs = 2'000;  // back off to this while the broker stays away
constexpr int kBrokerSilenceFactor =
    3;  // the broker drops a connection silent this many heartbeats
// How long a client that only looks without waiting (next_frame with nothing left of its
// deadline) may go without reading its socket monitor's events.
constexpr milliseconds kMonitorLookInterval{10};
constexpr int kMonitorEvents =
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

int to_int_ms(milliseconds ms) {
  return static_cast<int>(
      std::clamp<milliseconds::rep>(ms.count(), 0, std::numeric_limits<int>::max()));
}

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

Error transport_error(std::string_view what, const zmq::error_t& e) {
  return Error{ErrorCode::kTransport, std::string(what) + ": " + e.what()};
}

std::string_view frame_name(const Envelope& envelope) {
  constexpr std::array<std::string_view, 14> kNames = {"submit",       "receipt",       "deliver",      "ack",
                                                       "nack",         "credit",        "heartbeat",    "error",
                                                       "submit batch", "receipt batch", "deliver batch", "ack batch",
                                                       "ack receipt",  "processed"};
  static_assert(kNames.size() == std::variant_size_v<Envelope>, "a name for every frame type");
  return kNames[envelope.index()];
}

// libzmq may hand over a message that lies inside its receive buffer at any offset, and FlatBuffers
// reads its fields in place, which needs the buffer's natural alignment. Misaligned messages are
// copied into `storage` (operator new aligns it) first.
std::span<const std::byte> aligned_bytes(const zmq::message_t& message,
                                         std::vector<std::byte>& storage) {
  const auto* data = static_cast<const std::byte*>(message.data());
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::max_align_t) == 0)
    return {data, message.size()};
  storage.assign(data, data + message.size());
  return storage;
}

}  // namespace

// One submit_async() (or send()) not yet answered.
struct Outstanding {
  contracts::Submit submit;
  std::string bytes;                       // the message as a single Submit frame
  std::vector<ReceiptCallback> callbacks;  // more than one when the same id was submitted again
  std::uint64_t order = 0;                 // submission order: requeued messages keep their place
  Clock::time_point start;                 // submitted; receipt_timeout counts from here
  std::optional<ResendSchedule> schedule;  // from the first copy on
  int copies = 0;
  std::uint64_t copy_connection = 0;       // the connection the last copy went out on
  bool on_wire = false;                    // a copy went out on the current socket
  bool alone = false;                      // its batch was refused whole: it goes in its own frame
};

constexpr std::size_t kBatchEntryOverhead = 64;  // FlatBuffers offsets and padding per message

struct Client::Impl {
  Impl(Profile p, ClientOptions o) : profile(std::move(p)), options(o) {
    endpoints = profile.brokers.empty() ? std::vector<std::string>{profile.broker} : profile.brokers;
    profile.broker = endpoints.front();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { close(); }

  Profile profile;  // profile.broker is the endpoint in use, one of `endpoints`
  ClientOptions options;
  // profile.broker_signing_key's verifier (set at connect when the profile names one): remembers
  // the checkpoint notes it verified, so a commit's receipts cost one verification together.
  std::optional<broker::tlog::ReceiptVerifier> receipt_verifier;
  std::vector<std::string> endpoints;
  std::size_t endpoint_index = 0;
  zmq::context_t context{1};
  zmq::socket_t socket;          // DEALER to the broker
  zmq::socket_t monitor;         // PAIR receiving the DEALER's handshake and disconnect events
  std::uint64_t generation = 0;  // sockets made so far; names each monitor endpoint
  std::deque<contracts::Deliver> pending;  // deliveries received but not yet handed out
  std::deque<contracts::Receipt> receipts;  // receipts for pipelined submits, not yet handed out
  bool pipelined = false;                   // submit() was used: keep receipts nobody awaits
  Clock::time_point last_sent = Clock::now();

  // Natural batching (submit_async, send).
  std::unordered_map<std::string, Outstanding> outstanding;
  std::deque<std::string> queued;               // ids not on the wire, in submission order
  std::deque<std::vector<std::string>> frames;  // ids of each submit frame in flight, oldest first
  std::vector<std::pair<std::vector<ReceiptCallback>, Result<contracts::Receipt>>> answered;
  std::uint64_t next_order = 0;
  std::vector<std::uint64_t> acks_waiting;  // acks not yet sent (see Client::ack)
  std::vector<Result<contracts::AckReceipt>> ack_receipts;  // arrived, not yet taken
  std::deque<contracts::ErrorFrame> delivery_errors;        // Errors about a delivery id, not yet taken
  FrameCounts counts;

  bool credit_granted = false;        // the application wants deliveries
  std::uint32_t credit = 0;           // the window it wants
  bool credit_on_connection = false;  // a Credit has gone out for the current connection
  // The broker refused a frame of ours unread (RateLimited: over the partner's connection or queue
  // limit), which may have been our Credit: next_frame() grants it again at this time.
  std::optional<Clock::time_point> regrant_at;
  bool ever_connected = false;
  bool connected = false;         // a handshake succeeded and no disconnect was seen since
  std::uint64_t handshakes = 0;   // successful handshakes so far: a new value is a new connection
  std::uint64_t disconnects = 0;  // disconnects seen so far
  Clock::time_point monitor_read_at = Clock::now();  // when the monitor was last polled or drained
  // No unanswered message times out or is due for a resend before walk_at (a lower bound: an
  // answer does not raise it), and no new connection was seen since the last walk while
  // walked_handshakes == handshakes. maintain() walks `outstanding` only when either changed.
  Clock::time_point walk_at = Clock::time_point::min();
  std::uint64_t walked_handshakes = 0;
  Clock::time_point lost_at = Clock::now();  // last disconnect, or when the socket was opened
  bool key_refused = false;       // the broker's ZAP handler said no to our key
  bool handshake_failed = false;  // a handshake failed for another reason (wrong broker key?)
  bool closed = false;

  Result<void> open_socket();
  void close_socket(milliseconds linger) noexcept;
  Result<void> send_bytes(const std::string& bytes);
  Result<void> send_frame(const Envelope& envelope) {
    return send_bytes(contracts::encode_envelope(envelope));
  }
  Result<void> grant_credit();
  Result<std::optional<Envelope>> next_frame(Clock::time_point deadline,
                                             bool until_connection_change = false);
  void drain_monitor();
  // drain_monitor() when kMonitorLookInterval has passed since the monitor was last read: an
  // empty read costs two system calls, too many for every frame or submit.
  void look_at_monitor(Clock::time_point now);
  void on_event(std::uint16_t event, std::uint32_t value);
  void dispatch(Envelope envelope);
  std::string connection_problem() const;  // "" when all is well, else why we hear nothing
  std::string no_answer_hint() const;      // connection_problem() as "; ..." for error details
  Result<void> check_open() const;
  void close() noexcept;

  // Natural batching.
  void on_receipt(contracts::Receipt receipt);
  void on_frame_error(const contracts::ErrorFrame& error);
  void on_ack_receipt(contracts::AckReceipt receipt);
  void answer(const std::string& id, Result<contracts::Receipt> result, bool from_broker = true);
  std::size_t frames_in_flight();
  void send_ids(const std::vector<std::string>& ids, Clock::time_point now);
  void send_queued(Clock::time_point now);
  void resend_due(Clock::time_point now);
  void expire(Clock::time_point now);
  void fail_over(Clock::time_point now);
  void maintain();
  // Lowers walk_at to `o`'s next timeout or resend; called whenever either may have moved earlier.
  void due_by(const Outstanding& o);
  Clock::time_point next_wakeup(Clock::time_point deadline) const;
  std::size_t run_callbacks();
  template <class Done>
  Result<void> pump(Clock::time_point deadline, Done done);
  Result<void> send_acks();
};

Result<void> Client::Impl::open_socket() {
  try {
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, to_int_ms(options.linger));
    dealer.set(zmq::sockopt::immediate, 0);
    dealer.set(zmq::sockopt::rcvhwm, kHighWaterMark);
    dealer.set(zmq::sockopt::sndhwm, kHighWaterMark);
    dealer.set(zmq::sockopt::reconnect_ivl, kReconnectIvlMs);
    dealer.set(zmq::sockopt::reconnect_ivl_max, kReconnectIvlMaxMs);
    dealer.set(zmq::sockopt::heartbeat_ivl, to_int_ms(options.heartbeat));
    dealer.set(zmq::sockopt::heartbeat_timeout,
               to_int_ms(options.heartbeat * kBrokerSilenceFactor));
    dealer.set(zmq::sockopt::curve_serverkey, profile.broker_public_key);
    dealer.set(zmq::sockopt::curve_publickey, profile.public_key);
    dealer.set(zmq::sockopt::curve_secretkey, profile.secret_key);

    // Each Client has its own context, so the name only has to differ from our earlier sockets'.
    std::string monitor_endpoint = "inproc://sdk-monitor-" + std::to_string(++generation);
    if (zmq_socket_monitor(dealer.handle(), monitor_endpoint.c_str(), kMonitorEvents) != 0) {
      throw zmq::error_t();
    }
    zmq::socket_t events(context, zmq::socket_type::pair);
    events.set(zmq::sockopt::linger, 0);
    events.connect(monitor_endpoint);

    try {
      dealer.connect(profile.broker);
    } catch (const zmq::error_t& e) {
      zmq_socket_monitor(dealer.handle(), nullptr, 0);
      return Error{ErrorCode::kConfig, "broker endpoint " + profile.broker + ": " + e.what()};
    }
    socket = std::move(dealer);
    monitor = std::move(events);
  } catch (const zmq::error_t& e) {
    return transport_error("cannot set up the socket to " + profile.broker, e);
  }
  credit_on_connection = false;
  connected = false;
  lost_at = Clock::now();
  return {};
}

void Client::Impl::close_socket(milliseconds linger) noexcept {
  try {
    if (socket) {
      zmq_socket_monitor(socket.handle(), nullptr, 0);
      socket.set(zmq::sockopt::linger, to_int_ms(linger));
      socket.close();
    }
    if (monitor) monitor.close();
  } catch (const zmq::error_t& e) {
    log().warn("closing the socket failed error={}", e.what());
  }
  credit_on_connection = false;
}

Result<void> Client::Impl::send_bytes(const std::string& bytes) {
  try {
    auto sent = socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    if (!sent) {
      return Error{ErrorCode::kTransport,
                   "send queue to " + profile.broker + " is full" + no_answer_hint()};
    }
  } catch (const zmq::error_t& e) {
    return transport_error("send to " + profile.broker, e);
  }
  last_sent = Clock::now();
  return {};
}

Result<void> Client::Impl::grant_credit() {
  if (auto sent = send_frame(contracts::Credit{credit, options.delivery_batches, options.ack_receipts}); !sent) {
    return sent;
  }
  credit_on_connection = true;
  log().debug("granted credit={}", credit);
  return {};
}

// Waits until `deadline` for one frame from the broker, handling monitor events and sending a
// heartbeat whenever we have been quiet for options.heartbeat. Polls at least once, so a deadline
// in the past still picks up a frame that is already there. With `until_connection_change` it
// also returns (nothing) as soon as a new connection's handshake succeeds or the connection drops.
Result<std::optional<Envelope>> Client::Impl::next_frame(Clock::time_point deadline,
                                                         bool until_connection_change) {
  const std::uint64_t handshakes_before = handshakes;
  const std::uint64_t disconnects_before = disconnects;
  while (true) {
    auto now = Clock::now();
    if (regrant_at && now >= *regrant_at) {  // a Credit the broker may have refused (on_frame_error)
      regrant_at.reset();
      if (auto sent = grant_credit(); !sent) return sent.error();
      now = Clock::now();
    } else if (now - last_sent >= options.heartbeat) {
      if (auto sent = send_frame(contracts::Heartbeat{contracts::now_millis()}); !sent)
        return sent.error();
      now = Clock::now();
    }
    auto until = std::min(deadline, last_sent + options.heartbeat);
    if (regrant_at) until = std::min(until, *regrant_at);
    auto timeout = std::max(milliseconds{0}, std::chrono::ceil<milliseconds>(until - now));

    zmq::message_t message;
    bool received = false;
    try {
      if (timeout == milliseconds{0}) {
        // A look that must not wait (poll(0) after each submit): a receive that does not wait costs
        // libzmq's fork check (getpid) and one poll() when nothing is there, where zmq_poll on the
        // socket and the monitor costs five system calls (docs/performance.md, round 16). The
        // monitor is still read at least every kMonitorLookInterval.
        look_at_monitor(now);
        received = socket.recv(message, zmq::recv_flags::dontwait).has_value();
      } else {
        std::array<zmq::pollitem_t, 2> items = {
            {{socket.handle(), 0, ZMQ_POLLIN, 0}, {monitor.handle(), 0, ZMQ_POLLIN, 0}}};
        zmq::poll(items.data(), items.size(), timeout);
        monitor_read_at = Clock::now();
        if ((items[1].revents & ZMQ_POLLIN) != 0) drain_monitor();
        if ((items[0].revents & ZMQ_POLLIN) != 0) received = socket.recv(message, zmq::recv_flags::dontwait).has_value();
      }
      if (received && message.more()) {  // the protocol is one frame per message
        log().warn("dropped a multi-part message from the broker");
        received = false;
        while (message.more() && socket.recv(message, zmq::recv_flags::dontwait)) {
        }
      }
    } catch (const zmq::error_t& e) {
      return transport_error("receive from " + profile.broker, e);
    }

    if (received) {
      std::vector<std::byte> storage;
      auto envelope =
          contracts::decode_envelope(aligned_bytes(message, storage), options.max_frame_bytes);
      if (envelope) return std::optional<Envelope>(std::move(*envelope));
      log().warn("dropped an undecodable frame from the broker bytes={} code={} detail={}",
                 message.size(), contracts::to_string(envelope.error().code),
                 envelope.error().detail);
    }
    if (Clock::now() >= deadline) return std::optional<Envelope>{};
    if (until_connection_change &&
        (handshakes != handshakes_before || disconnects != disconnects_before)) {
      return std::optional<Envelope>{};
    }
  }
}

void Client::Impl::look_at_monitor(Clock::time_point now) {
  if (now - monitor_read_at < kMonitorLookInterval) return;
  drain_monitor();
  monitor_read_at = now;
}

void Client::Impl::drain_monitor() {
  while (true) {
    zmq::message_t event;
    if (!monitor.recv(event, zmq::recv_flags::dontwait)) return;
    while (event.more()) {  // the second part names the endpoint; we know it
      zmq::message_t endpoint;
      if (!monitor.recv(endpoint, zmq::recv_flags::dontwait) || !endpoint.more()) break;
    }
    if (event.size() < 6) continue;
    std::uint16_t id = 0;
    std::uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof id);
    std::memcpy(&value, static_cast<const char*>(event.data()) + sizeof id, sizeof value);
    on_event(id, value);
  }
}

void Client::Impl::on_event(std::uint16_t event, std::uint32_t value) {
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      if (ever_connected) {
        log().info("reconnected broker={} partner={}", profile.broker, profile.partner);
      } else {
        log().debug("connected broker={} partner={}", profile.broker, profile.partner);
      }
      ever_connected = true;
      connected = true;
      ++handshakes;
      key_refused = false;
      handshake_failed = false;
      if (credit_granted && !credit_on_connection) {
        if (auto sent = grant_credit(); !sent)
          log().warn("could not grant credit detail={}", sent.error().detail);
      }
      break;
    case ZMQ_EVENT_DISCONNECTED:
      if (ever_connected && !key_refused && !handshake_failed) {
        log().info("disconnected broker={} partner={}", profile.broker, profile.partner);
      }
      if (connected) lost_at = Clock::now();
      connected = false;
      ++disconnects;
      credit_on_connection = false;
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      if (!key_refused) {
        log().warn("broker refused our key broker={} partner={} public_key={} status={}",
                   profile.broker, profile.partner, profile.public_key, value);
      }
      key_refused = true;
      break;
    default:  // HANDSHAKE_FAILED_PROTOCOL, HANDSHAKE_FAILED_NO_DETAIL
      if (!handshake_failed) {
        log().warn("handshake with the broker failed broker={} event={} error={}", profile.broker,
                   event, value);
      }
      handshake_failed = true;
      break;
  }
}

// Handles one frame from the broker: receipts answer submits, deliveries wait for receive().
void Client::Impl::dispatch(Envelope envelope) {
  if (auto* receipt = std::get_if<contracts::Receipt>(&envelope)) {
    on_receipt(std::move(*receipt));
  } else if (auto* batch = std::get_if<contracts::ReceiptBatch>(&envelope)) {
    for (auto& r : batch->receipts) on_receipt(std::move(r));
  } else if (auto* deliver = std::get_if<contracts::Deliver>(&envelope)) {
    log().debug("delivery arrived delivery_id={} message_id={} attempt={} bytes={}",
                deliver->delivery_id, deliver->header.message_id, deliver->attempt,
                deliver->payload.size());
    pending.push_back(std::move(*deliver));
  } else if (auto* deliveries = std::get_if<contracts::DeliverBatch>(&envelope)) {
    log().debug("delivery batch arrived deliveries={}", deliveries->deliveries.size());
    for (auto& d : deliveries->deliveries) pending.push_back(std::move(d));
  } else if (auto* error = std::get_if<contracts::ErrorFrame>(&envelope)) {
    on_frame_error(*error);
  } else if (auto* acked = std::get_if<contracts::AckReceipt>(&envelope)) {
    on_ack_receipt(std::move(*acked));
  } else if (!std::holds_alternative<contracts::Heartbeat>(envelope)) {
    log().warn("ignored an unexpected frame from the broker type={}", frame_name(envelope));
  }
}

// An AckReceipt, kept for take_ack_receipts(); with a broker signing key in the profile its
// checkpoint must verify and hold every event it names, else it is kept as a kProtocol error.
void Client::Impl::on_ack_receipt(contracts::AckReceipt receipt) {
  log().debug("ack receipt arrived deliveries={}", receipt.delivery_ids.size());
  if (!receipt_verifier) {
    ack_receipts.emplace_back(std::move(receipt));
    return;
  }
  contracts::Receipt probe;  // the checkpoint check, against the highest seq named
  probe.checkpoint = receipt.checkpoint;
  for (auto seq : receipt.log_seqs) probe.log_seq = std::max(probe.log_seq, seq);
  if (auto problem = check_receipt_checkpoint(probe, *receipt_verifier); !problem.empty()) {
    log().warn("ack receipt refused detail={}", problem);
    ack_receipts.emplace_back(Error{ErrorCode::kProtocol, "ack receipt: " + problem});
    return;
  }
  ack_receipts.emplace_back(std::move(receipt));
}

void Client::Impl::on_receipt(contracts::Receipt receipt) {
  if (outstanding.count(receipt.message_id) != 0) {
    std::string id = receipt.message_id;
    answer(id, std::move(receipt));
    return;
  }
  if (pipelined) {
    receipts.push_back(std::move(receipt));
    return;
  }
  log().debug("ignored a receipt for another message message_id={}", receipt.message_id);
}

// A frame the broker could not read has no message id to answer with a receipt. It is about the
// oldest submit frame in flight (acks carry a delivery id). A single message gets a Rejected
// receipt; a batch refused whole is sent again message by message, so that one bad message is
// refused alone.
void Client::Impl::on_frame_error(const contracts::ErrorFrame& error) {
  const bool about_submit =
      error.delivery_id == 0 &&
      (error.code == ErrorCode::kTooLarge || error.code == ErrorCode::kMalformedEnvelope);
  if (about_submit) {
    (void)frames_in_flight();  // drops answered frames from the front
    if (!frames.empty()) {
      std::vector<std::string> ids = std::move(frames.front());
      frames.pop_front();
      std::vector<std::string> open;
      for (auto& id : ids) {
        if (outstanding.count(id) != 0) open.push_back(std::move(id));
      }
      if (open.size() == 1) {
        contracts::Receipt rejected;
        rejected.message_id = open.front();
        rejected.status = contracts::ReceiptStatus::kRejected;
        rejected.code = error.code;
        rejected.detail = error.detail;
        answer(open.front(), std::move(rejected), /*from_broker=*/false);
        return;
      }
      log().warn("broker refused a batch whole, sending its messages one by one messages={} "
                 "code={} detail={}", open.size(), contracts::to_string(error.code), error.detail);
      for (auto it = open.rbegin(); it != open.rend(); ++it) {
        Outstanding& o = outstanding.at(*it);
        o.alone = true;
        o.on_wire = false;
        queued.push_front(*it);
      }
      return;
    }
    if (pipelined) {
      contracts::Receipt rejected;  // which pipelined submit it was about is unknown: no id
      rejected.status = contracts::ReceiptStatus::kRejected;
      rejected.code = error.code;
      rejected.detail = error.detail;
      receipts.push_back(std::move(rejected));
      return;
    }
  }
  log().warn("broker reported an error code={} delivery_id={} detail={}",
             contracts::to_string(error.code), error.delivery_id, error.detail);
  if (error.code == ErrorCode::kRateLimited && error.delivery_id == 0 && credit_granted) {
    // Which frame was refused is unknown; if it was our Credit the broker holds no window for us.
    // Granting it again is harmless (Credit sets the window), and waiting a second keeps a
    // connection that stays over the limit from refusals back to back.
    regrant_at = Clock::now() + std::chrono::seconds(1);
  }
  if (error.delivery_id != 0) {
    if (delivery_errors.size() == kDeliveryErrorsKept) delivery_errors.pop_front();
    delivery_errors.push_back(error);
  }
}

// Ends an outstanding submit: checks a receipt's signature when the profile names a signing key,
// and queues its callbacks for run_callbacks().
void Client::Impl::answer(const std::string& id, Result<contracts::Receipt> result,
                          bool from_broker) {
  auto it = outstanding.find(id);
  if (it == outstanding.end()) return;
  Outstanding o = std::move(it->second);
  outstanding.erase(it);
  if (result && from_broker && receipt_verifier) {
    std::string problem;
    if (!receipt_verifier->verify(*result)) {
      problem = broker::tlog::receipt_signature_version(*result) == 0
                    ? "the receipt is not signed, but the profile names a broker signing key"
                    : "the receipt's signature does not verify with the broker signing key";
    } else if (result->status == contracts::ReceiptStatus::kAccepted &&
               result->payload_digest != contracts::sha256_hex(o.submit.payload)) {
      problem = "the broker signed a different payload digest than ours";
    } else if (result->status != contracts::ReceiptStatus::kRejected) {
      problem = check_receipt_checkpoint(*result, *receipt_verifier);
    }
    if (!problem.empty()) {
      log().warn("receipt refused message_id={} detail={}", id, problem);
      result = Error{ErrorCode::kProtocol, problem + " (message_id=" + id + ")"};
    }
  }
  if (result) {
    log().debug("receipt message_id={} status={} after_ms={} copies={}", id,
                contracts::to_string(result->status), elapsed_ms(o.start), o.copies);
  }
  answered.emplace_back(std::move(o.callbacks), std::move(result));
}

// Submit frames still waiting for an answer; answered ones are dropped from the front.
std::size_t Client::Impl::frames_in_flight() {
  auto is_open = [&](const std::vector<std::string>& ids) {
    return std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
      auto it = outstanding.find(id);
      return it != outstanding.end() && it->second.on_wire;
    });
  };
  std::size_t open = 0;
  for (auto it = frames.begin(); it != frames.end();) {
    if (!is_open(*it)) {
      it = frames.erase(it);
    } else {
      ++open;
      ++it;
    }
  }
  return open;
}

// Sends these outstanding messages in one frame: a Submit for one, a SubmitBatch for several.
void Client::Impl::send_ids(const std::vector<std::string>& ids, Clock::time_point now) {
  if (ids.empty()) return;
  Result<void> sent;
  if (ids.size() == 1) {
    sent = send_bytes(outstanding.at(ids.front()).bytes);
    if (sent) ++counts.submits;
  } else {
    contracts::SubmitBatch batch;
    batch.messages.reserve(ids.size());
    for (const auto& id : ids) batch.messages.push_back(outstanding.at(id).submit);
    sent = send_frame(batch);
    if (sent) {
      ++counts.submit_batches;
      counts.batched_messages += ids.size();
    }
  }
  if (!sent) {  // the send queue is full: the messages stay queued and go later
    log().debug("submit frame not sent messages={} detail={}", ids.size(), sent.error().detail);
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      if (!outstanding.at(*it).on_wire) queued.push_front(*it);  // resends retry by schedule
    }
    return;
  }
  const ResendTiming timing{options.receipt_timeout, options.resend_after, options.resend_max};
  for (const auto& id : ids) {
    Outstanding& o = outstanding.at(id);
    if (!o.schedule) {
      // receipt_timeout counts from the submit, so the schedule starts there too.
      o.schedule.emplace(timing, o.start);
      if (now - o.start >= options.resend_after) o.schedule->resent(now);
    } else {
      o.schedule->resent(now);
    }
    o.on_wire = true;
    ++o.copies;
    due_by(o);
    // A copy sent while disconnected waits in the socket's queue and leaves on the next connection.
    o.copy_connection = connected ? handshakes : handshakes + 1;
  }
  log().debug("submit frame sent messages={}", ids.size());
  frames.push_back(ids);
}

// Natural batching: while fewer than options.frames_in_flight submit frames are unanswered, what
// queued goes out, as many messages per frame as the limits allow.
void Client::Impl::send_queued(Clock::time_point now) {
  while (!queued.empty() && frames_in_flight() < options.frames_in_flight) {
    std::vector<std::string> ids;
    std::size_t bytes = 0;
    const std::size_t max_messages =
        std::min<std::size_t>(options.window, contracts::kMaxBatchMessages);
    while (!queued.empty() && ids.size() < max_messages) {
      auto it = outstanding.find(queued.front());
      if (it == outstanding.end() || it->second.on_wire) {  // answered meanwhile
        queued.pop_front();
        continue;
      }
      const Outstanding& o = it->second;
      const std::size_t size = o.bytes.size() + kBatchEntryOverhead;
      if (!ids.empty() && (o.alone || bytes + size > options.max_batch_bytes)) break;
      ids.push_back(queued.front());
      queued.pop_front();
      bytes += size;
      if (o.alone) break;
    }
    if (ids.empty()) return;
    const std::size_t before = queued.size();
    send_ids(ids, now);
    if (queued.size() > before) return;  // not sent: the queue is full, try again later
  }
}

// Sends again what was not answered: at once on a new connection (a receipt for the old one is
// lost), else on each message's back-off schedule (docs/protocol.md, "Resending a Submit").
void Client::Impl::resend_due(Clock::time_point now) {
  std::vector<std::pair<std::uint64_t, std::string>> due;
  for (auto& [id, o] : outstanding) {
    if (!o.on_wire || !o.schedule) continue;
    if (connected && handshakes > o.copy_connection) {
      log().warn("connection renewed, resending message_id={} copy={} after_ms={}", id,
                 o.copies + 1, elapsed_ms(o.start));
      due.emplace_back(o.order, id);
    } else if (o.schedule->is_due(now)) {
      if (connected) {
        log().warn("no receipt yet, resending message_id={} copy={} after_ms={}", id, o.copies + 1,
                   elapsed_ms(o.start));
        due.emplace_back(o.order, id);
      } else {
        o.schedule->resent(now);  // the last copy is still queued, or goes on the next connection
      }
    }
  }
  if (due.empty()) return;
  std::sort(due.begin(), due.end());
  const std::size_t max_messages = std::min<std::size_t>(options.window, contracts::kMaxBatchMessages);
  std::vector<std::string> ids;
  std::size_t bytes = 0;
  for (auto& [order, id] : due) {
    const Outstanding& o = outstanding.at(id);
    const std::size_t size = o.bytes.size() + kBatchEntryOverhead;
    if (!ids.empty() && (o.alone || ids.size() == max_messages || bytes + size > options.max_batch_bytes)) {
      send_ids(ids, now);
      ids.clear();
      bytes = 0;
    }
    ids.push_back(id);
    bytes += size;
    if (o.alone) {
      send_ids(ids, now);
      ids.clear();
      bytes = 0;
    }
  }
  send_ids(ids, now);
}

// Gives up on messages unanswered for receipt_timeout.
void Client::Impl::expire(Clock::time_point now) {
  std::vector<std::string> expired;
  for (const auto& [id, o] : outstanding) {
    if (now - o.start >= options.receipt_timeout) expired.push_back(id);
  }
  for (const auto& id : expired) {
    const int copies = outstanding.at(id).copies;
    answer(id, Error{ErrorCode::kTimeout,
                     "no receipt for message_id=" + id + " from " + profile.broker + " within " +
                         std::to_string(options.receipt_timeout.count()) + " ms (" +
                         std::to_string(copies) + (copies == 1 ? " copy sent)" : " copies sent)") +
                         no_answer_hint()},
           /*from_broker=*/false);
  }
}

// With several endpoints: after failover_after without a connection, move to the next one and
// send every unanswered message there again under its own id. Deliveries not yet handed out are
// dropped: they were the old connection's, and come again.
void Client::Impl::fail_over(Clock::time_point now) {
  if (endpoints.size() < 2 || connected || now - lost_at < options.failover_after) return;
  const std::string from = profile.broker;
  close_socket(milliseconds{0});
  endpoint_index = (endpoint_index + 1) % endpoints.size();
  profile.broker = endpoints[endpoint_index];
  key_refused = false;
  handshake_failed = false;
  ++counts.failovers;
  if (auto opened = open_socket(); !opened) {
    log().error("failover failed from={} to={} detail={}", from, profile.broker,
                opened.error().detail);
    lost_at = now;
    return;
  }
  std::vector<std::pair<std::uint64_t, std::string>> unanswered;
  for (auto& [id, o] : outstanding) {
    if (o.on_wire) unanswered.emplace_back(o.order, id);
    o.on_wire = false;
  }
  std::sort(unanswered.begin(), unanswered.end());
  for (auto it = unanswered.rbegin(); it != unanswered.rend(); ++it) queued.push_front(it->second);
  frames.clear();
  const std::size_t dropped = pending.size();
  pending.clear();
  log().warn("failing over from={} to={} unanswered={} deliveries_dropped={}", from,
             profile.broker, outstanding.size(), dropped);
  if (credit_granted) {
    if (auto granted = grant_credit(); !granted)
      log().warn("could not grant credit detail={}", granted.error().detail);
  }
}

void Client::Impl::maintain() {
  const auto now = Clock::now();
  // The walks over every unanswered message only when one may be due: poll(0) after each submit
  // calls this once per message.
  const bool walk = now >= walk_at || handshakes != walked_handshakes;
  if (walk) expire(now);
  fail_over(now);
  if (walk) {
    resend_due(now);
    walk_at = Clock::time_point::max();
    for (const auto& [id, o] : outstanding) due_by(o);
    walked_handshakes = handshakes;
  }
  send_queued(now);
}

void Client::Impl::due_by(const Outstanding& o) {
  walk_at = std::min(walk_at, o.start + options.receipt_timeout);
  if (o.on_wire && o.schedule) walk_at = std::min(walk_at, o.schedule->next_resend());
}

// The earliest moment maintain() has something to do, not later than `deadline`.
Clock::time_point Client::Impl::next_wakeup(Clock::time_point deadline) const {
  auto wake = std::min(deadline, walk_at);
  if (endpoints.size() > 1 && !connected) wake = std::min(wake, lost_at + options.failover_after);
  return wake;
}

std::size_t Client::Impl::run_callbacks() {
  auto batch = std::move(answered);
  answered.clear();
  for (auto& [callbacks, result] : batch) {
    for (auto& callback : callbacks) {
      if (callback) callback(result);
    }
  }
  return batch.size();
}

// Reads frames and keeps the submits moving until done() or the deadline.
template <class Done>
Result<void> Client::Impl::pump(Clock::time_point deadline, Done done) {
  while (true) {
    maintain();
    run_callbacks();
    if (done()) return {};
    auto frame = next_frame(next_wakeup(deadline), /*until_connection_change=*/true);
    if (!frame) return frame.error();
    if (*frame) dispatch(std::move(**frame));
    run_callbacks();
    if (done()) {
      maintain();  // what queued behind the answer leaves now
      return {};
    }
    if (Clock::now() >= deadline) {
      maintain();
      run_callbacks();
      return {};
    }
  }
}

Result<void> Client::Impl::send_acks() {
  if (acks_waiting.empty()) return {};
  std::vector<std::uint64_t> ids = std::move(acks_waiting);
  acks_waiting.clear();
  if (ids.size() == 1) {
    log().debug("ack delivery_id={}", ids.front());
    if (auto sent = send_frame(contracts::Ack{ids.front()}); !sent) return sent;
    ++counts.acks;
    return {};
  }
  for (std::size_t i = 0; i < ids.size(); i += contracts::kMaxBatchMessages) {
    contracts::AckBatch batch;
    const std::size_t end = std::min(ids.size(), i + contracts::kMaxBatchMessages);
    batch.delivery_ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(i),
                              ids.begin() + static_cast<std::ptrdiff_t>(end));
    log().debug("ack batch deliveries={}", batch.delivery_ids.size());
    if (auto sent = send_frame(batch); !sent) return sent;
    ++counts.ack_batches;
  }
  return {};
}

std::string Client::Impl::connection_problem() const {
  if (key_refused) {
    return "the broker refused our key (is partner " + profile.partner + "'s public key " +
           profile.public_key + " configured at the broker?)";
  }
  if (ever_connected) return "";
  if (handshake_failed)
    return "the CurveZMQ handshake failed (is broker_public_key the broker's key?)";
  return "no connection to the broker was made";
}

std::string Client::Impl::no_answer_hint() const {
  std::string problem = connection_problem();
  return problem.empty() ? problem : "; " + problem;
}

Result<void> Client::Impl::check_open() const {
  if (closed) return Error{ErrorCode::kTransport, "the client is closed"};
  return {};
}

void Client::Impl::close() noexcept {
  if (closed) return;
  closed = true;
  if (socket) {
    if (auto sent = send_acks(); !sent) {
      log().debug("could not send the last acks detail={}", sent.error().detail);
    }
  }
  if (!outstanding.empty()) {
    log().warn("closed with submits unanswered messages={} (their callbacks are not called)",
               outstanding.size());
    outstanding.clear();
    queued.clear();
    frames.clear();
  }
  answered.clear();
  if (credit_granted && socket) {
    if (auto sent = send_frame(contracts::Credit{0}); !sent) {
      log().debug("could not say goodbye detail={}", sent.error().detail);
    }
  }
  close_socket(options.linger);
  context.close();  // waits up to the linger for queued frames to leave
}

Result<Client> Client::connect(const Profile& profile, ClientOptions options) {
  auto config_error = [](std::string detail) {
    return Error{ErrorCode::kConfig, std::move(detail)};
  };
  if (options.credit == 0) return config_error("credit must be at least 1");
  if (options.window == 0) return config_error("window must be at least 1");
  if (options.frames_in_flight == 0) return config_error("frames_in_flight must be at least 1");
  if (profile.failover_after) options.failover_after = *profile.failover_after;
  // The profile's timing keys are the operator's choice for this partner: they win.
  if (profile.receipt_timeout) options.receipt_timeout = *profile.receipt_timeout;
  if (profile.resend_after) options.resend_after = *profile.resend_after;
  if (profile.resend_max) options.resend_max = *profile.resend_max;
  if (options.receipt_timeout <= milliseconds{0} || options.resend_after <= milliseconds{0} ||
      options.resend_max <= milliseconds{0} || options.heartbeat <= milliseconds{0}) {
    return config_error("receipt_timeout, resend_after, resend_max and heartbeat must be positive");
  }
  if (profile.broker.empty()) return config_error("no broker endpoint");
  for (const auto& endpoint : profile.brokers) {
    if (endpoint.empty()) return config_error("an empty broker endpoint");
  }
  if (profile.broker_public_key.size() != 40 || profile.secret_key.size() != 40) {
    return config_error("broker_public_key and secret_key must be 40 Z85 characters");
  }
  Profile complete = profile;
  if (complete.public_key.empty()) {
    std::array<char, 41> derived{};
    if (zmq_curve_public(derived.data(), complete.secret_key.c_str()) != 0) {
      return config_error("cannot derive the public key from secret_key");
    }
    complete.public_key = derived.data();
  }

  std::optional<broker::tlog::ReceiptVerifier> receipt_verifier;
  if (!complete.broker_signing_key.empty()) {
    auto verifier = broker::tlog::ReceiptVerifier::from_hex(complete.broker_signing_key);
    if (!verifier) return verifier.error();
    receipt_verifier = std::move(*verifier);
  }

  auto impl = std::make_unique<Impl>(std::move(complete), options);
  impl->receipt_verifier = std::move(receipt_verifier);
  if (auto opened = impl->open_socket(); !opened) {
    impl->closed = true;
    return opened.error();
  }
  log().debug("connecting broker={} partner={} public_key={}", impl->profile.broker,
              impl->profile.partner, impl->profile.public_key);
  return Client(std::move(impl));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<contracts::Receipt> Client::send(const contracts::Submit& submit) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  // Shared with the callback, which outlives this call if the pump fails.
  auto answer = std::make_shared<std::optional<Result<contracts::Receipt>>>();
  if (auto queued = submit_async(submit, [answer](Result<contracts::Receipt> r) { *answer = std::move(r); });
      !queued) {
    return queued.error();
  }
  // Every outstanding submit is answered by receipt_timeout at the latest.
  if (auto pumped = c.pump(Clock::time_point::max(), [&] { return answer->has_value(); }); !pumped)
    return pumped.error();
  return std::move(**answer);
}

Result<void> Client::submit_async(contracts::Submit submit, ReceiptCallback on_receipt) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  if (c.outstanding.size() >= c.options.window) {  // back-pressure: wait for room in the window
    const auto deadline = Clock::now() + c.options.receipt_timeout;
    auto pumped = c.pump(deadline, [&] { return c.outstanding.size() < c.options.window; });
    if (!pumped) return pumped.error();
    if (c.outstanding.size() >= c.options.window) {
      return Error{ErrorCode::kTimeout, "the window of " + std::to_string(c.options.window) +
                                            " unanswered submits stayed full for " +
                                            std::to_string(c.options.receipt_timeout.count()) +
                                            " ms" + c.no_answer_hint()};
    }
  }
  const std::string id = submit.header.message_id;
  if (auto it = c.outstanding.find(id); it != c.outstanding.end()) {
    // The same id again while unanswered: one receipt answers both.
    it->second.callbacks.push_back(std::move(on_receipt));
    return {};
  }
  Outstanding o;
  o.bytes = contracts::encode_envelope(submit);
  o.submit = std::move(submit);
  o.callbacks.push_back(std::move(on_receipt));
  o.order = c.next_order++;
  o.start = Clock::now();
  log().debug("submit queued message_id={} contract={} bytes={}", id, o.submit.header.contract,
              o.bytes.size());
  c.due_by(c.outstanding.emplace(id, std::move(o)).first->second);
  c.queued.push_back(id);
  // Whether the connection is up decides which connection the frame counts for: read what the
  // monitor saw, at most every kMonitorLookInterval (a stale view costs at most one resend, which
  // the broker's dedupe answers).
  const auto now = Clock::now();
  c.look_at_monitor(now);
  c.send_queued(now);  // at once when nothing is in flight
  return {};
}

Result<std::vector<Result<contracts::Receipt>>> Client::send_all(
    const std::vector<contracts::Submit>& submits,
    std::function<void(std::size_t, const Result<contracts::Receipt>&)> on_answer) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  // Shared with the callbacks, which outlive this call if it fails half-way; `active` keeps
  // on_answer from running after we returned.
  struct State {
    std::vector<std::optional<Result<contracts::Receipt>>> answers;
    std::size_t answered = 0;
    bool active = true;
    std::function<void(std::size_t, const Result<contracts::Receipt>&)> on_answer;
  };
  auto state = std::make_shared<State>();
  state->answers.resize(submits.size());
  state->on_answer = std::move(on_answer);
  struct Deactivate {
    State& s;
    ~Deactivate() { s.active = false; }
  } deactivate{*state};
  for (std::size_t i = 0; i < submits.size(); ++i) {
    auto queued = submit_async(submits[i], [state, i](Result<contracts::Receipt> r) {
      if (!state->active) return;
      if (state->on_answer) state->on_answer(i, r);
      state->answers[i] = std::move(r);
      ++state->answered;
    });
    if (!queued) return queued.error();
  }
  // Every submit is answered within receipt_timeout of its start.
  if (auto pumped = c.pump(Clock::time_point::max(),
                           [&] { return state->answered == submits.size(); });
      !pumped) {
    return pumped.error();
  }
  std::vector<Result<contracts::Receipt>> out;
  out.reserve(submits.size());
  for (auto& a : state->answers) out.push_back(std::move(*a));
  return out;
}

Result<std::size_t> Client::poll(milliseconds wait) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  std::size_t ran = c.run_callbacks();
  const auto deadline = Clock::now() + wait;
  while (true) {
    c.maintain();
    ran += c.run_callbacks();
    if (ran > 0 || c.outstanding.empty() || Clock::now() >= deadline) break;
    auto frame = c.next_frame(c.next_wakeup(deadline), /*until_connection_change=*/true);
    if (!frame) return frame.error();
    if (*frame) c.dispatch(std::move(**frame));
    ran += c.run_callbacks();
  }
  // Take what else has already arrived, without waiting, so one poll answers a whole batch.
  while (true) {
    auto frame = c.next_frame(Clock::now() - milliseconds{1});
    if (!frame) return frame.error();
    if (!*frame) break;
    c.dispatch(std::move(**frame));
  }
  c.maintain();
  ran += c.run_callbacks();
  return ran;
}

Result<void> Client::flush(milliseconds wait) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  if (auto pumped = c.pump(Clock::now() + wait, [&] { return c.outstanding.empty(); }); !pumped)
    return pumped;
  if (!c.outstanding.empty()) {
    return Error{ErrorCode::kTimeout, std::to_string(c.outstanding.size()) +
                                          " submits still unanswered by " + c.profile.broker +
                                          c.no_answer_hint()};
  }
  return {};
}

std::size_t Client::outstanding() const { return impl_ ? impl_->outstanding.size() : 0; }

FrameCounts Client::frame_counts() const { return impl_ ? impl_->counts : FrameCounts{}; }

const std::string& Client::endpoint() const { return impl_->profile.broker; }

Result<void> Client::submit(const contracts::Submit& submit) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  c.pipelined = true;
  return c.send_bytes(contracts::encode_envelope(submit));
}

Result<std::optional<contracts::Receipt>> Client::next_receipt(milliseconds wait) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  const auto deadline = Clock::now() + wait;
  while (c.receipts.empty()) {
    auto frame = c.next_frame(deadline);
    if (!frame) return frame.error();
    if (!*frame) return std::optional<contracts::Receipt>{};
    c.dispatch(std::move(**frame));
  }
  contracts::Receipt next = std::move(c.receipts.front());
  c.receipts.pop_front();
  if (c.receipt_verifier && !next.message_id.empty() && !c.receipt_verifier->verify(next)) {
    return Error{ErrorCode::kProtocol,
                 "the receipt's signature does not verify with the broker signing key (message_id=" +
                     next.message_id + ")"};
  }
  if (c.receipt_verifier && next.status != contracts::ReceiptStatus::kRejected) {
    if (auto problem = check_receipt_checkpoint(next, *c.receipt_verifier); !problem.empty()) {
      return Error{ErrorCode::kProtocol, problem + " (message_id=" + next.message_id + ")"};
    }
  }
  return std::optional<contracts::Receipt>(std::move(next));
}

Result<std::optional<contracts::Deliver>> Client::receive(milliseconds wait) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open.error();
  const auto start = Clock::now();
  if (!c.credit_granted) {
    c.credit_granted = true;
    c.credit = c.options.credit;
    if (auto granted = c.grant_credit(); !granted) return granted.error();
  } else if (start - c.last_sent > c.options.heartbeat * kBrokerSilenceFactor) {
    // We were quiet long enough for the broker to drop us; Credit sets the window, so saying hello
    // again is harmless if it did not.
    if (auto granted = c.grant_credit(); !granted) return granted.error();
  }

  // About to wait: the acks of what was handed out go first, so the broker can refill the window.
  if (c.pending.empty()) {
    if (auto sent = c.send_acks(); !sent) return sent.error();
  }
  if (auto pumped = c.pump(start + wait, [&] { return !c.pending.empty(); }); !pumped)
    return pumped.error();
  if (c.pending.empty()) return std::optional<contracts::Deliver>{};
  contracts::Deliver next = std::move(c.pending.front());
  c.pending.pop_front();
  return std::optional<contracts::Deliver>(std::move(next));
}

std::vector<Result<contracts::AckReceipt>> Client::take_ack_receipts() {
  assert(impl_ && "use of a moved-from Client");
  return std::exchange(impl_->ack_receipts, {});
}

std::vector<contracts::ErrorFrame> Client::take_delivery_errors() {
  assert(impl_ && "use of a moved-from Client");
  std::vector<contracts::ErrorFrame> out(impl_->delivery_errors.begin(), impl_->delivery_errors.end());
  impl_->delivery_errors.clear();
  return out;
}

Result<void> Client::processed(std::uint64_t delivery_id, contracts::ProcessedOutcome outcome, std::string_view reason) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open;
  // The same checks the broker makes on the report itself, so a caller's mistake is named here.
  if (outcome == contracts::ProcessedOutcome::kRefused && reason.empty()) {
    return Error{ErrorCode::kProtocol, "a refused delivery needs a reason"};
  }
  if (reason.size() > contracts::kMaxProcessedReasonBytes) {
    return Error{ErrorCode::kTooLarge, "processed reason of " + std::to_string(reason.size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(contracts::kMaxProcessedReasonBytes)};
  }
  // The broker takes a report only after the delivery's Ack: a batched ack leaves first.
  if (!c.acks_waiting.empty()) {
    if (auto sent = c.send_acks(); !sent) return sent;
  }
  log().debug("processed delivery_id={} outcome={}", delivery_id, contracts::to_string(outcome));
  return c.send_frame(contracts::Processed{delivery_id, outcome, std::string(reason)});
}

Result<void> Client::ack(std::uint64_t delivery_id) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open;
  c.acks_waiting.push_back(delivery_id);
  // Everything received has been handed out: nothing else to wait for, so it leaves now.
  if (c.pending.empty() || !c.options.delivery_batches) return c.send_acks();
  return {};
}

Result<void> Client::nack(std::uint64_t delivery_id, std::string_view reason) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open;
  log().debug("nack delivery_id={}", delivery_id);
  return c.send_frame(contracts::Nack{delivery_id, std::string(reason)});
}

Result<void> Client::set_credit(std::uint32_t credit) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open;
  if (credit == 0)
    return Error{ErrorCode::kConfig, "credit must be at least 1 (close() says goodbye)"};
  c.credit_granted = true;
  c.credit = credit;
  return c.grant_credit();
}

Result<void> Client::check_connection() const {
  assert(impl_ && "use of a moved-from Client");
  if (impl_->ever_connected && !impl_->key_refused) return {};
  return Error{ErrorCode::kTransport,
               "broker " + impl_->profile.broker + ": " + impl_->connection_problem()};
}

void Client::close() {
  if (impl_) impl_->close();
}

}  // namespace partner
