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

#include <sodium.h>
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
#include <limits>
#include <span>
#include <vector>
#include <zmq.hpp>

#include "adapters/sdk/log.h"
#include "adapters/sdk/resend_schedule.h"
#include "contracts/digest.h"

namespace partner {
namespace {

using Clock = std::chrono::steady_clock;
using contracts::Envelope;
using contracts::Error;
using contracts::ErrorCode;
using std::chrono::milliseconds;

constexpr int kHighWaterMark = 1000;  // frames queued each way; credit bounds deliveries anyway
constexpr int kReconnectIvlMs = 100;  // first reconnect attempt after a broken connection
constexpr int kReconnectIvlMaxMs = 2'000;  // back off to this while the broker stays away
constexpr int kBrokerSilenceFactor =
    3;  // the broker drops a connection silent this many heartbeats
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
  constexpr std::array<std::string_view, 12> kNames = {"submit",       "receipt",       "deliver",      "ack",
                                                       "nack",         "credit",        "heartbeat",    "error",
                                                       "submit batch", "receipt batch", "deliver batch", "ack batch"};
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

struct Client::Impl {
  Impl(Profile p, ClientOptions o) : profile(std::move(p)), options(o) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { close(); }

  Profile profile;
  ClientOptions options;
  zmq::context_t context{1};
  zmq::socket_t socket;          // DEALER to the broker
  zmq::socket_t monitor;         // PAIR receiving the DEALER's handshake and disconnect events
  std::uint64_t generation = 0;  // sockets made so far; names each monitor endpoint
  std::deque<contracts::Deliver> pending;  // deliveries received but not yet handed out
  std::deque<contracts::Receipt> receipts;  // receipts for pipelined submits, not yet handed out
  bool pipelined = false;                   // submit() was used: keep receipts nobody awaits
  Clock::time_point last_sent = Clock::now();

  bool credit_granted = false;        // the application wants deliveries
  std::uint32_t credit = 0;           // the window it wants
  bool credit_on_connection = false;  // a Credit has gone out for the current connection
  bool ever_connected = false;
  bool connected = false;         // a handshake succeeded and no disconnect was seen since
  std::uint64_t handshakes = 0;   // successful handshakes so far: a new value is a new connection
  bool key_refused = false;       // the broker's ZAP handler said no to our key
  bool handshake_failed = false;  // a handshake failed for another reason (wrong broker key?)
  bool closed = false;
  std::string receipt_problem;    // why the last awaited Receipt frame is not valid evidence

  Result<void> open_socket();
  void close_socket(milliseconds linger) noexcept;
  Result<void> send_bytes(const std::string& bytes);
  Result<void> send_frame(const Envelope& envelope) {
    return send_bytes(contracts::encode_envelope(envelope));
  }
  Result<void> grant_credit();
  Result<std::optional<Envelope>> next_frame(Clock::time_point deadline,
                                             bool until_new_connection = false);
  void drain_monitor();
  void on_event(std::uint16_t event, std::uint32_t value);
  std::optional<contracts::Receipt> dispatch(Envelope envelope, const std::string* awaited_id);
  std::string connection_problem() const;  // "" when all is well, else why we hear nothing
  std::string no_answer_hint() const;      // connection_problem() as "; ..." for error details
  Result<void> check_open() const;
  void close() noexcept;
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
  if (auto sent = send_frame(contracts::Credit{credit}); !sent) return sent;
  credit_on_connection = true;
  log().debug("granted credit={}", credit);
  return {};
}

// Waits until `deadline` for one frame from the broker, handling monitor events and sending a
// heartbeat whenever we have been quiet for options.heartbeat. Polls at least once, so a deadline
// in the past still picks up a frame that is already there. With `until_new_connection` it also
// returns (nothing) as soon as a new connection's handshake succeeds.
Result<std::optional<Envelope>> Client::Impl::next_frame(Clock::time_point deadline,
                                                         bool until_new_connection) {
  const std::uint64_t handshakes_before = handshakes;
  while (true) {
    auto now = Clock::now();
    if (now - last_sent >= options.heartbeat) {
      if (auto sent = send_frame(contracts::Heartbeat{contracts::now_millis()}); !sent)
        return sent.error();
      now = Clock::now();
    }
    auto until = std::min(deadline, last_sent + options.heartbeat);
    auto timeout = std::max(milliseconds{0}, std::chrono::ceil<milliseconds>(until - now));

    std::array<zmq::pollitem_t, 2> items = {
        {{socket.handle(), 0, ZMQ_POLLIN, 0}, {monitor.handle(), 0, ZMQ_POLLIN, 0}}};
    zmq::message_t message;
    bool received = false;
    try {
      zmq::poll(items.data(), items.size(), timeout);
      if ((items[1].revents & ZMQ_POLLIN) != 0) drain_monitor();
      if ((items[0].revents & ZMQ_POLLIN) != 0) {
        received = socket.recv(message, zmq::recv_flags::dontwait).has_value();
        if (received && message.more()) {  // the protocol is one frame per message
          log().warn("dropped a multi-part message from the broker");
          received = false;
          while (message.more() && socket.recv(message, zmq::recv_flags::dontwait)) {
          }
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
    if (until_new_connection && handshakes != handshakes_before) return std::optional<Envelope>{};
  }
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
      connected = false;
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

// Handles one frame from the broker. Returns the receipt for `awaited_id` when this is it.
std::optional<contracts::Receipt> Client::Impl::dispatch(Envelope envelope,
                                                         const std::string* awaited_id) {
  if (auto* receipt = std::get_if<contracts::Receipt>(&envelope)) {
    if (awaited_id != nullptr && receipt->message_id == *awaited_id) {
      receipt_problem.clear();
      if (!profile.broker_signing_key.empty() &&
          !contracts::verify_receipt_signature(*receipt, profile.broker_signing_key)) {
        receipt_problem = receipt->signature.empty()
                              ? "the receipt is not signed, but the profile names a broker signing key"
                              : "the receipt's signature does not verify with the broker signing key";
      }
      return std::move(*receipt);
    }
    if (pipelined) {
      receipts.push_back(std::move(*receipt));
      return std::nullopt;
    }
    log().debug("ignored a receipt for another message message_id={}", receipt->message_id);
  } else if (auto* deliver = std::get_if<contracts::Deliver>(&envelope)) {
    log().debug("delivery arrived delivery_id={} message_id={} attempt={} bytes={}",
                deliver->delivery_id, deliver->header.message_id, deliver->attempt,
                deliver->payload.size());
    pending.push_back(std::move(*deliver));
  } else if (auto* error = std::get_if<contracts::ErrorFrame>(&envelope)) {
    // A frame the broker could not read has no message id to answer with a receipt. While a submit
    // is outstanding, such an error can only be about that submit (acks carry a delivery id).
    bool about_submit =
        awaited_id != nullptr && error->delivery_id == 0 &&
        (error->code == ErrorCode::kTooLarge || error->code == ErrorCode::kMalformedEnvelope);
    if (about_submit) {
      contracts::Receipt rejected;
      rejected.message_id = *awaited_id;
      rejected.status = contracts::ReceiptStatus::kRejected;
      rejected.code = error->code;
      rejected.detail = error->detail;
      return rejected;
    }
    if (pipelined && awaited_id == nullptr && error->delivery_id == 0 &&
        (error->code == ErrorCode::kTooLarge || error->code == ErrorCode::kMalformedEnvelope)) {
      contracts::Receipt rejected;  // which pipelined submit it was about is unknown: no id
      rejected.status = contracts::ReceiptStatus::kRejected;
      rejected.code = error->code;
      rejected.detail = error->detail;
      receipts.push_back(std::move(rejected));
      return std::nullopt;
    }
    log().warn("broker reported an error code={} delivery_id={} detail={}",
               contracts::to_string(error->code), error->delivery_id, error->detail);
  } else if (!std::holds_alternative<contracts::Heartbeat>(envelope)) {
    log().warn("ignored an unexpected frame from the broker type={}", frame_name(envelope));
  }
  return std::nullopt;
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
  // The profile's timing keys are the operator's choice for this partner: they win.
  if (profile.receipt_timeout) options.receipt_timeout = *profile.receipt_timeout;
  if (profile.resend_after) options.resend_after = *profile.resend_after;
  if (profile.resend_max) options.resend_max = *profile.resend_max;
  if (options.receipt_timeout <= milliseconds{0} || options.resend_after <= milliseconds{0} ||
      options.resend_max <= milliseconds{0} || options.heartbeat <= milliseconds{0}) {
    return config_error("receipt_timeout, resend_after, resend_max and heartbeat must be positive");
  }
  if (profile.broker.empty()) return config_error("no broker endpoint");
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

  auto impl = std::make_unique<Impl>(std::move(complete), options);
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
  const std::string& id = submit.header.message_id;
  const std::string bytes = contracts::encode_envelope(submit);
  const auto start = Clock::now();
  ResendSchedule schedule(
      {c.options.receipt_timeout, c.options.resend_after, c.options.resend_max}, start);
  int copies = 0;
  // The connection the last copy went out on. A copy sent while disconnected waits in the socket's
  // queue and leaves on the next connection, so it counts as sent on that one.
  std::uint64_t copy_connection = 0;
  auto send_copy = [&]() -> Result<void> {
    c.drain_monitor();
    if (auto sent = c.send_bytes(bytes); !sent) return sent;
    ++copies;
    copy_connection = c.connected ? c.handshakes : c.handshakes + 1;
    return {};
  };

  if (auto sent = send_copy(); !sent) return sent.error();
  log().debug("submitted message_id={} contract={} version={} bytes={}", id, submit.header.contract,
              submit.header.version, bytes.size());
  while (true) {
    auto frame = c.next_frame(schedule.next_resend(), /*until_new_connection=*/true);
    if (!frame) return frame.error();
    if (*frame) {
      c.receipt_problem.clear();
      // Any receipt with our message id answers, whichever copy it is for.
      if (auto receipt = c.dispatch(std::move(**frame), &id)) {
        if (c.receipt_problem.empty() && !c.profile.broker_signing_key.empty() &&
            receipt->status == contracts::ReceiptStatus::kAccepted &&
            receipt->payload_digest != contracts::sha256_hex(submit.payload)) {
          c.receipt_problem = "the broker signed a different payload digest than ours";
        }
        if (!c.receipt_problem.empty()) {
          log().warn("receipt refused message_id={} detail={}", id, c.receipt_problem);
          return Error{ErrorCode::kProtocol, c.receipt_problem + " (message_id=" + id + ")"};
        }
        log().debug("receipt message_id={} status={} after_ms={} copies={}", id,
                    contracts::to_string(receipt->status), elapsed_ms(start), copies);
        return std::move(*receipt);
      }
    }
    const auto now = Clock::now();
    if (schedule.is_expired(now)) {
      return Error{ErrorCode::kTimeout,
                   "no receipt for message_id=" + id + " from " + c.profile.broker + " within " +
                       std::to_string(c.options.receipt_timeout.count()) + " ms (" +
                       std::to_string(copies) + (copies == 1 ? " copy sent)" : " copies sent)") +
                       c.no_answer_hint()};
    }
    if (c.connected && c.handshakes > copy_connection) {
      // ZeroMQ reconnected after our copy left: a receipt for it went to the old connection.
      log().warn("connection renewed, resending message_id={} copy={} after_ms={}", id, copies + 1,
                 elapsed_ms(start));
      if (auto sent = send_copy(); !sent) return sent.error();
      schedule.resent(now);
    } else if (schedule.is_due(now)) {
      schedule.resent(now);
      if (c.connected) {
        log().warn("no receipt yet, resending message_id={} copy={} after_ms={} next_in_ms={}", id,
                   copies + 1, elapsed_ms(start), schedule.interval().count());
        if (auto sent = send_copy(); !sent) return sent.error();
      }
      // Not connected: the last copy is still queued, or goes again on the next connection.
    }
  }
}

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
    (void)c.dispatch(std::move(**frame), nullptr);
  }
  contracts::Receipt next = std::move(c.receipts.front());
  c.receipts.pop_front();
  if (!c.profile.broker_signing_key.empty() && !next.message_id.empty() &&
      !contracts::verify_receipt_signature(next, c.profile.broker_signing_key)) {
    return Error{ErrorCode::kProtocol,
                 "the receipt's signature does not verify with the broker signing key (message_id=" +
                     next.message_id + ")"};
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

  const auto deadline = start + wait;
  while (c.pending.empty()) {
    auto frame = c.next_frame(deadline);
    if (!frame) return frame.error();
    if (!*frame) return std::optional<contracts::Deliver>{};
    (void)c.dispatch(std::move(**frame), nullptr);
  }
  contracts::Deliver next = std::move(c.pending.front());
  c.pending.pop_front();
  return std::optional<contracts::Deliver>(std::move(next));
}

Result<void> Client::ack(std::uint64_t delivery_id) {
  assert(impl_ && "use of a moved-from Client");
  Impl& c = *impl_;
  if (auto open = c.check_open(); !open) return open;
  log().debug("ack delivery_id={}", delivery_id);
  return c.send_frame(contracts::Ack{delivery_id});
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

std::string new_message_id() {
  static const bool sodium_ready = [] {
    if (sodium_init() < 0) {
      log().error("sodium_init failed; message ids come from randombytes without it");
      return false;
    }
    return true;
  }();
  (void)sodium_ready;

  std::array<unsigned char, 16> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[bytes[i] >> 4]);
    id.push_back(kHex[bytes[i] & 0x0F]);
  }
  return id;
}

}  // namespace partner
