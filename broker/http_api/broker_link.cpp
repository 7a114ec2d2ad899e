#include "broker/http_api/broker_link.h"

#include <spdlog/spdlog.h>

#include <array>
#include <zmq.hpp>

#include "broker/http_api/log.h"

namespace broker::http_api {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using Clock = std::chrono::steady_clock;

// The longest a poll holds a DeliverySession's mutex, so acks of the same partner are not held up
// by a long poll.
constexpr std::chrono::milliseconds kSlice{50};
// How long a GET that got its first delivery waits for the rest the broker sent in the same turn.
constexpr std::chrono::milliseconds kSettle{20};

}  // namespace

GatewayKeys GatewayKeys::generate(const std::vector<std::string>& partner_ids) {
  GatewayKeys keys;
  for (const auto& id : partner_ids) {
    std::array<char, 41> pub{}, sec{};
    if (zmq_curve_keypair(pub.data(), sec.data()) != 0) continue;  // only without libsodium; CMake requires it
    keys.by_partner_[id] = CurvePair{std::string(pub.data(), 40), std::string(sec.data(), 40)};
  }
  return keys;
}

std::map<std::string, std::string> GatewayKeys::public_to_partner() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, pair] : by_partner_) out[pair.public_key] = id;
  return out;
}

const CurvePair* GatewayKeys::find(const std::string& partner) const {
  auto it = by_partner_.find(partner);
  return it == by_partner_.end() ? nullptr : &it->second;
}

std::string local_endpoint(const std::string& bound) {
  constexpr std::string_view kTcp = "tcp://";
  if (bound.rfind(kTcp, 0) != 0) return bound;
  std::string rest = bound.substr(kTcp.size());
  std::size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return bound;
  std::string host = rest.substr(0, colon);
  if (host == "*" || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]" || host == "::") host = "[::1]";
  return std::string(kTcp) + host + rest.substr(colon);
}

GatewaySocket::GatewaySocket(std::unique_ptr<zmq::socket_t> socket) : socket_(std::move(socket)) {}
GatewaySocket::GatewaySocket(GatewaySocket&&) noexcept = default;
GatewaySocket& GatewaySocket::operator=(GatewaySocket&&) noexcept = default;
GatewaySocket::~GatewaySocket() = default;

Result<GatewaySocket> GatewaySocket::connect(zmq::context_t& context, const BrokerAddress& broker, const CurvePair& keys) {
  try {
    auto s = std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::curve_serverkey, broker.server_key);
    s->set(zmq::sockopt::curve_publickey, keys.public_key);
    s->set(zmq::sockopt::curve_secretkey, keys.secret_key);
    s->set(zmq::sockopt::ipv6, 1);
    s->connect(broker.endpoint);
    return GatewaySocket(std::move(s));
  } catch (const zmq::error_t& e) {
    return Error{ErrorCode::kTransport, "connect " + broker.endpoint + ": " + e.what()};
  }
}

Result<void> GatewaySocket::send(const contracts::Envelope& frame) {
  try {
    std::string bytes = contracts::encode_envelope(frame);
    if (!socket_->send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      return Error{ErrorCode::kTransport, "the connection to the broker is not ready"};
    }
  } catch (const zmq::error_t& e) {
    return Error{ErrorCode::kTransport, std::string("send: ") + e.what()};
  }
  return {};
}

Result<std::optional<contracts::Envelope>> GatewaySocket::receive(std::chrono::milliseconds timeout) {
  try {
    std::array<zmq::pollitem_t, 1> items{{{socket_->handle(), 0, ZMQ_POLLIN, 0}}};
    zmq::poll(items.data(), items.size(), timeout);
    if (!(items[0].revents & ZMQ_POLLIN)) return std::optional<contracts::Envelope>();
    zmq::message_t msg;
    if (!socket_->recv(msg, zmq::recv_flags::dontwait)) return std::optional<contracts::Envelope>();
    // The broker's frames are bounded by its own limits; a receipt batch may be as large as a frame.
    auto decoded = contracts::decode_envelope(
        std::span<const std::byte>(static_cast<const std::byte*>(msg.data()), msg.size()), 64 << 20);
    if (!decoded) return decoded.error();
    return std::optional<contracts::Envelope>(std::move(*decoded));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<contracts::Envelope>();
    return Error{ErrorCode::kTransport, std::string("receive: ") + e.what()};
  }
}

Result<std::vector<contracts::Receipt>> submit(GatewaySocket& socket, std::vector<contracts::Submit> messages,
                                               bool as_batch, std::chrono::milliseconds timeout) {
  std::string single_id = messages.size() == 1 ? messages.front().header.message_id : std::string();
  const bool batch = as_batch || messages.size() != 1;
  Result<void> sent = batch ? socket.send(contracts::SubmitBatch{std::move(messages)})
                            : socket.send(std::move(messages.front()));
  if (!sent) return sent.error();
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto frame = socket.receive(std::max(left, std::chrono::milliseconds(1)));
    if (!frame) return frame.error();
    if (!*frame) continue;
    auto& env = **frame;
    if (auto* r = std::get_if<contracts::Receipt>(&env); r && !batch && r->message_id == single_id) {
      return std::vector<contracts::Receipt>{std::move(*r)};
    }
    if (auto* rb = std::get_if<contracts::ReceiptBatch>(&env); rb && batch) return std::move(rb->receipts);
    if (auto* e = std::get_if<contracts::ErrorFrame>(&env)) return Error{e->code, e->detail};
  }
  return Error{ErrorCode::kTimeout, "the broker did not answer within " + std::to_string(timeout.count()) + " ms"};
}

Result<void> DeliverySession::send_heartbeat() {
  if (auto r = socket_.send(contracts::Heartbeat{contracts::now_millis()}); !r) return r;
  ++heartbeats_sent_;
  return {};
}

Result<void> DeliverySession::set_credit(std::uint32_t credit) {
  if (credit == credit_) return {};
  credit_ = credit;
  if (auto r = socket_.send(contracts::Credit{credit, false}); !r) return r;
  if (credit != 0) return {};
  // Closed only when nothing is handed out: what is held was not seen by anyone, and the broker
  // now takes it back (as pending, for the next GET), with what is still on its way.
  held_.clear();
  handed_.clear();
  handed_at_.clear();
  if (auto r = send_heartbeat(); !r) return r;
  stale_until_ = heartbeats_sent_;
  return {};
}

Result<void> DeliverySession::pump(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    auto frame = socket_.receive(left);
    if (!frame) return frame.error();
    if (!*frame) return {};
    auto& env = **frame;
    const bool stale = heartbeats_answered_ < stale_until_;
    if (auto* d = std::get_if<contracts::Deliver>(&env); d && stale) {
      log().debug("delivery taken back by the broker delivery_id={}", d->delivery_id);
    } else if (d) {
      const std::uint64_t id = d->delivery_id;
      held_[id] = std::move(*d);
      handed_[id] = false;  // new, or sent again by the broker: offered to the next GET
      handed_at_.erase(id);
    } else if (auto* batch = std::get_if<contracts::DeliverBatch>(&env); batch && !stale) {
      for (auto& item : batch->deliveries) {
        handed_[item.delivery_id] = false;
        handed_at_.erase(item.delivery_id);
        held_[item.delivery_id] = std::move(item);
      }
    } else if (std::holds_alternative<contracts::Heartbeat>(env)) {
      if (heartbeats_answered_ < heartbeats_sent_) ++heartbeats_answered_;
    } else if (auto* e = std::get_if<contracts::ErrorFrame>(&env)) {
      if (e->delivery_id != 0) refused_[e->delivery_id] = std::move(*e);
      else log().warn("broker error on delivery session code={} detail={}", contracts::to_string(e->code), e->detail);
    }
  }
  return {};
}

void DeliverySession::forget(std::uint64_t id) {
  held_.erase(id);
  handed_.erase(id);
  handed_at_.erase(id);
}

void DeliverySession::forget_expired() {
  const auto limit = Clock::now() - ack_timeout_;
  std::vector<std::uint64_t> expired;
  for (const auto& [id, at] : handed_at_) {
    if (at < limit) expired.push_back(id);
  }
  for (auto id : expired) forget(id);
}

Result<std::vector<contracts::Deliver>> DeliverySession::take(std::uint32_t max, std::chrono::milliseconds wait) {
  std::vector<contracts::Deliver> out;
  const auto deadline = Clock::now() + wait;
  auto outstanding = [this] {
    std::uint32_t n = 0;
    for (const auto& [id, handed] : handed_) n += handed ? 1 : 0;
    return n;
  };
  auto collect = [&] {
    for (auto& [id, handed] : handed_) {
      if (out.size() >= max) break;
      if (handed) continue;
      handed = true;
      handed_at_[id] = Clock::now();
      out.push_back(held_.at(id));
    }
  };
  auto unhanded = [this] {
    std::uint32_t n = 0;
    for (const auto& [id, handed] : handed_) n += handed ? 0 : 1;
    return n;
  };
  bool opened = false;
  while (true) {
    std::lock_guard lock(mu_);
    if (!opened) {
      forget_expired();
      asked_ += max;
      opened = true;
    }
    // The window: what is handed out and not answered, plus what the waiting GETs ask for.
    if (auto r = set_credit(outstanding() + asked_); !r) {
      asked_ -= max;
      return r.error();
    }
    if (auto r = pump(std::chrono::milliseconds(0), [] { return false; }); !r) {
      asked_ -= max;
      return r.error();
    }
    collect();
    if (!out.empty() && out.size() < max) {
      // The broker sends what the window allows in one turn: let the rest of it arrive, so it
      // goes out with this answer rather than waiting here for the next GET.
      const std::uint32_t want = max - static_cast<std::uint32_t>(out.size());
      (void)pump(kSettle, [&] { return unhanded() >= want; });
      collect();
    }
    const auto now = Clock::now();
    if (!out.empty() || now >= deadline) {
      // The window closes again to what is handed out (and what other GETs wait for): nothing is
      // fetched for nobody. With nothing handed out it closes entirely (Credit{0}).
      asked_ -= max;
      if (auto r = set_credit(outstanding() + asked_); !r) return r.error();
      return out;
    }
    auto slice = std::min(kSlice, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (auto r = pump(slice, [this] {
          for (const auto& [id, handed] : handed_) {
            if (!handed) return true;
          }
          return false;
        });
        !r) {
      asked_ -= max;
      return r.error();
    }
  }
}

Result<void> DeliverySession::answer(std::uint64_t id, bool nack, const std::string& reason, std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  refused_.erase(id);
  Result<void> sent = nack ? socket_.send(contracts::Nack{id, reason}) : socket_.send(contracts::Ack{id});
  if (!sent) return sent;
  if (auto r = send_heartbeat(); !r) return r;
  auto all_answered = [this] { return heartbeats_answered_ == heartbeats_sent_; };
  if (auto r = pump(timeout, all_answered); !r) return r;
  if (!all_answered()) return Error{ErrorCode::kTimeout, "the broker did not confirm the answer in time"};
  if (auto it = refused_.find(id); it != refused_.end()) {
    Error e{it->second.code, it->second.detail};
    refused_.erase(it);
    return e;
  }
  forget(id);
  std::uint32_t outstanding = 0;
  for (const auto& [other, handed] : handed_) outstanding += handed ? 1 : 0;
  return set_credit(outstanding + asked_);
}

Result<void> DeliverySession::report_processed(const contracts::Processed& report, std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  refused_.erase(report.delivery_id);
  if (auto sent = socket_.send(report); !sent) return sent;
  if (auto r = send_heartbeat(); !r) return r;
  auto all_answered = [this] { return heartbeats_answered_ == heartbeats_sent_; };
  if (auto r = pump(timeout, all_answered); !r) return r;
  if (!all_answered()) return Error{ErrorCode::kTimeout, "the broker did not confirm the report in time"};
  if (auto it = refused_.find(report.delivery_id); it != refused_.end()) {
    Error e{it->second.code, it->second.detail};
    refused_.erase(it);
    return e;
  }
  return {};
}

void DeliverySession::keep_alive() {
  std::lock_guard lock(mu_);
  if (credit_ == 0) return;  // no window: the broker has nothing to forget
  (void)send_heartbeat();
  (void)pump(std::chrono::milliseconds(0), [] { return false; });
}

}  // namespace broker::http_api
