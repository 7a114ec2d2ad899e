#include "broker/transport/router_socket.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <zmq.hpp>

#include "broker/transport/connection_tracker.h"
#include "broker/transport/log.h"

namespace broker::transport {
namespace {

using contracts::Error;
using contracts::ErrorCode;

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr const char* kZapDomain = "keten";
// Each RouterSocket has its own context, so one inproc name serves all of them.
// The ZAP User-Id of a gateway key's connection: this prefix, then the partner id. poll() strips it
// and sets Incoming::via_gateway, so nothing outside this file sees it.
constexpr std::string_view kGatewayUserPrefix = "\x1fgateway:";
constexpr const char* kMonitorEndpoint = "inproc://keten.router.monitor";

std::string to_string(const zmq::message_t& m) { return std::string(static_cast<const char*>(m.data()), m.size()); }

}  // namespace

int receive_high_water_mark(std::size_t hard_max_bytes, std::size_t queue_bytes) {
  constexpr std::size_t kMost = 10'000;
  const std::size_t count = queue_bytes / std::max<std::size_t>(hard_max_bytes, 1);
  return static_cast<int>(std::clamp<std::size_t>(count, 1, kMost));
}

std::string decode_curve_key(const std::string& z85) {
  if (z85.size() != 40) return {};
  std::array<std::uint8_t, 32> key{};
  if (zmq_z85_decode(key.data(), z85.c_str()) == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

std::string curve_public_key(const std::string& secret_z85) {
  if (secret_z85.size() != 40) return {};
  std::array<char, 41> pub{};
  if (zmq_curve_public(pub.data(), secret_z85.c_str()) != 0) return {};
  return std::string(pub.data(), 40);
}

struct RouterSocket::Impl {
  zmq::context_t context{1};
  zmq::socket_t zap{context, zmq::socket_type::rep};
  zmq::socket_t router{context, zmq::socket_type::router};
  zmq::socket_t monitor{context, zmq::socket_type::pair};  // the router's accept/disconnect events
  std::map<std::string, std::string> partner_by_raw_key;  // 32-byte key -> partner id
  std::map<std::string, std::string> gateway_by_raw_key;  // 32-byte key -> partner id (HTTPS API)
  ConnectionTracker connections;

  // Applies every monitor event queued now; appends the routing ids they show gone to `out`.
  void drain_monitor(std::vector<Incoming>& out) {
    std::vector<std::string> gone;
    while (true) {
      zmq::message_t event;
      if (!monitor.recv(event, zmq::recv_flags::dontwait)) break;
      // Two frames: 16-bit event and 32-bit value (the descriptor), then the endpoint.
      const bool more = event.more();
      if (more) {
        zmq::message_t endpoint;
        (void)monitor.recv(endpoint, zmq::recv_flags::dontwait);
      }
      if (event.size() < 6) continue;
      std::uint16_t id = 0;
      std::int32_t fd = 0;
      std::memcpy(&id, event.data(), sizeof id);
      std::memcpy(&fd, static_cast<const char*>(event.data()) + sizeof id, sizeof fd);
      if (id == ZMQ_EVENT_ACCEPTED) connections.accepted(fd);
      else if (id == ZMQ_EVENT_DISCONNECTED) connections.disconnected(fd, gone);
    }
    report(gone, out);
  }

  static void report(const std::vector<std::string>& gone, std::vector<Incoming>& out) {
    for (const auto& routing_id : gone) {
      Incoming in;
      in.routing_id = routing_id;
      in.gone = true;
      out.push_back(std::move(in));
    }
  }

  // One ZAP request (RFC 27): version, request id, domain, address, identity, mechanism, key.
  void handle_zap() {
    std::vector<zmq::message_t> parts;
    while (true) {
      zmq::message_t part;
      if (!zap.recv(part, zmq::recv_flags::dontwait)) break;
      bool more = part.more();
      parts.push_back(std::move(part));
      if (!more) break;
    }
    if (parts.size() < 6) return;  // not a ZAP request; nothing sensible to answer
    std::string version = to_string(parts[0]);
    std::string request_id = to_string(parts[1]);
    std::string address = to_string(parts[3]);
    std::string mechanism = to_string(parts[5]);
    std::string status = "400", text = "unknown key", user_id;
    if (mechanism == "CURVE" && parts.size() >= 7) {
      auto it = partner_by_raw_key.find(to_string(parts[6]));
      if (it != partner_by_raw_key.end()) {
        status = "200";
        text = "OK";
        user_id = it->second;
      } else if (auto g = gateway_by_raw_key.find(to_string(parts[6])); g != gateway_by_raw_key.end()) {
        status = "200";
        text = "OK";
        user_id = std::string(kGatewayUserPrefix) + g->second;
      }
    } else {
      text = "mechanism " + mechanism + " not allowed";
    }
    if (status == "200" && user_id.starts_with(kGatewayUserPrefix)) {
      log().info("partner connect partner={} address={} via=https-api", user_id.substr(kGatewayUserPrefix.size()), address);
    } else if (status == "200") {
      log().info("partner connect partner={} address={}", user_id, address);
    } else {
      log().warn("connection refused address={} reason={}", address, text);
    }
    std::array<std::string, 6> reply{version, request_id, status, text, user_id, ""};
    for (std::size_t i = 0; i < reply.size(); ++i) {
      zap.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
};

RouterSocket::RouterSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouterSocket::RouterSocket(RouterSocket&&) noexcept = default;
RouterSocket& RouterSocket::operator=(RouterSocket&&) noexcept = default;
RouterSocket::~RouterSocket() = default;

Result<RouterSocket> RouterSocket::bind(const RouterOptions& options) {
  if (decode_curve_key(options.secret_key).empty()) {
    return Error{ErrorCode::kConfig, "broker secret key is not a 40-character Z85 Curve key"};
  }
  auto impl = std::make_unique<Impl>();
  for (const auto& [key, partner] : options.partner_keys) {
    std::string raw = decode_curve_key(key);
    if (raw.empty()) return Error{ErrorCode::kConfig, "partner " + partner + ": public key is not a Z85 Curve key"};
    impl->partner_by_raw_key[raw] = partner;
  }
  for (const auto& [key, partner] : options.gateway_keys) {
    std::string raw = decode_curve_key(key);
    if (raw.empty()) return Error{ErrorCode::kConfig, "gateway key of " + partner + " is not a Z85 Curve key"};
    impl->gateway_by_raw_key[raw] = partner;
  }
  try {
    impl->zap.set(zmq::sockopt::linger, 0);
    impl->zap.bind(kZapEndpoint);
    auto& r = impl->router;
    r.set(zmq::sockopt::linger, 0);
    r.set(zmq::sockopt::curve_server, 1);
    r.set(zmq::sockopt::curve_secretkey, options.secret_key);
    r.set(zmq::sockopt::zap_domain, kZapDomain);
    r.set(zmq::sockopt::router_mandatory, 1);
    r.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(options.hard_max_bytes));
    r.set(zmq::sockopt::sndhwm, 10000);
    r.set(zmq::sockopt::rcvhwm, receive_high_water_mark(options.hard_max_bytes, options.queue_bytes));
    r.set(zmq::sockopt::sndtimeo, 0);
    // The monitor tells which connections ended, so the broker retires them at once rather than
    // after a failed send or a silent session_timeout. Events must not be dropped (the tracker
    // counts them per descriptor): no high-water mark on the reading side.
    if (zmq_socket_monitor(r.handle(), kMonitorEndpoint, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
      throw zmq::error_t();
    }
    impl->monitor.set(zmq::sockopt::linger, 0);
    impl->monitor.set(zmq::sockopt::rcvhwm, 0);
    impl->monitor.connect(kMonitorEndpoint);
    r.bind(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Error{ErrorCode::kTransport, "bind " + options.endpoint + ": " + e.what()};
  }
  return RouterSocket(std::move(impl));
}

std::string RouterSocket::endpoint() const {
  try {
    return impl_->router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t&) {
    return {};
  }
}

Result<std::vector<Incoming>> RouterSocket::poll(std::chrono::milliseconds timeout, std::size_t max_batch,
                                                 std::size_t max_bytes) {
  std::vector<Incoming> out;
  std::size_t bytes = 0;
  try {
    std::array<zmq::pollitem_t, 3> items{{{impl_->router.handle(), 0, ZMQ_POLLIN, 0},
                                          {impl_->zap.handle(), 0, ZMQ_POLLIN, 0},
                                          {impl_->monitor.handle(), 0, ZMQ_POLLIN, 0}}};
    zmq::poll(items.data(), items.size(), timeout);
    if (items[1].revents & ZMQ_POLLIN) impl_->handle_zap();
    impl_->drain_monitor(out);
    std::size_t messages = 0;
    while (messages < max_batch && bytes < max_bytes) {
      zmq::message_t routing_id;
      if (!impl_->router.recv(routing_id, zmq::recv_flags::dontwait)) break;
      Incoming in;
      in.routing_id = to_string(routing_id);
      std::size_t parts = 0;
      while (routing_id.more()) {  // reuse routing_id as "previous part" for the more-flag
        zmq::message_t part;
        if (!impl_->router.recv(part, zmq::recv_flags::dontwait)) break;
        if (parts == 0) {
          const char* user_id = zmq_msg_gets(part.handle(), "User-Id");
          in.partner = user_id ? user_id : "";
          if (in.partner.starts_with(kGatewayUserPrefix)) {
            in.partner.erase(0, kGatewayUserPrefix.size());
            in.via_gateway = true;
          }
          in.bytes = to_string(part);
          impl_->connections.seen(in.routing_id, zmq_msg_get(part.handle(), ZMQ_SRCFD));
        }
        ++parts;
        routing_id = std::move(part);
      }
      in.multipart = parts > 1;
      bytes += in.bytes.size();
      ++messages;
      out.push_back(std::move(in));
    }
    // Events queued while the messages were read, then the routing ids of those messages placed
    // on their connections: a connection that ended before this point is reported after its last
    // message read (ConnectionTracker).
    impl_->drain_monitor(out);
    std::vector<std::string> gone;
    impl_->connections.settle(gone);
    Impl::report(gone, out);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return out;  // a signal: let the caller look at its stop flag
    return Error{ErrorCode::kTransport, std::string("poll: ") + e.what()};
  }
  return out;
}

Result<void> RouterSocket::send(const std::string& routing_id, const std::string& bytes) {
  try {
    if (!impl_->router.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return Error{ErrorCode::kTransport, "connection queue full"};
    }
    impl_->router.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    return Error{ErrorCode::kTransport, e.num() == EHOSTUNREACH ? "connection gone" : e.what()};
  }
  return {};
}

}  // namespace broker::transport
