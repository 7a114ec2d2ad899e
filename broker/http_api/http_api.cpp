#include "broker/http_api/http_api.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "broker/http_api/api.h"
#include "broker/http_api/http_message.h"
#include "broker/http_api/log.h"
#include "broker/http_api/tls.h"
#include "broker/ops/http_server.h"
#include "broker/ops/metrics.h"
#include "contracts/registry.h"

namespace broker::http_api {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

constexpr std::chrono::seconds kKeepAliveInterval{3};  // well within the broker's session_timeout_ms
// After refusing a request while it was read: how long, and how much, of what the client still
// sends is read and thrown away before the close (TlsConnection::linger).
constexpr std::chrono::milliseconds kLinger{2'000};
constexpr std::size_t kLingerBytes = 64 << 20;

// The metric families the HTTPS API counts in the broker's registry (docs/operations.md).
constexpr const char* kRequests = "keten_https_requests_total";
constexpr const char* kRequestSeconds = "keten_https_request_seconds";
constexpr const char* kHandshakesRefused = "keten_https_handshakes_refused_total";
constexpr const char* kConnectionsRefused = "keten_https_connections_refused_total";
constexpr const char* kConnectionsOpen = "keten_https_connections_open";

void describe_metrics(ops::MetricsRegistry& m) {
  using ops::MetricType;
  m.describe(kRequests, MetricType::kCounter,
             "HTTPS API requests answered, by route, method and status (route unread: refused while being read).");
  m.describe(kRequestSeconds, MetricType::kHistogram,
             "HTTPS API time from a request read to its answer ready, by route (long polls included).",
             {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  m.describe(kHandshakesRefused, MetricType::kCounter, "HTTPS TLS handshakes refused, by kind.");
  m.describe(kConnectionsRefused, MetricType::kCounter, "HTTPS connections closed at accept, by reason.");
  m.describe(kConnectionsOpen, MetricType::kGauge, "HTTPS TCP connections held (max: http_api.max_connections).");
  m.set(kConnectionsOpen, {}, 0);
  m.add(kConnectionsRefused, {{"reason", "max_connections"}}, 0);
  for (const char* kind : {"unknown_ca", "expired", "revoked", "no_certificate", "protocol", "other"}) {
    m.add(kHandshakesRefused, {{"kind", kind}}, 0);
  }
}

// The method as a label: the two the API serves, anything else as "other".
std::string method_label(const std::string& method) {
  return method == "GET" || method == "POST" ? method : "other";
}

// The origin a certificate's submits carry, recorded in the handover log's accepted event:
// `https:` then the OIN, the certificate serial and its fingerprint (docs/http-api.md).
std::string origin_of(const PeerIdentity& peer) {
  std::string out = "https:";
  if (!peer.serial_number.empty()) out += "oin=" + peer.serial_number + ";";
  out += "serial=" + peer.cert_serial + ";sha256=" + peer.sha256;
  return out;
}

std::string peer_address(const sockaddr_storage& addr) {
  char host[NI_MAXHOST] = {}, port[NI_MAXSERV] = {};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return std::string(host) + ":" + port;
}

Result<int> bind_listener(const std::string& listen, std::string& bound) {
  auto hp = ops::parse_host_port(listen);
  if (!hp) return Error{ErrorCode::kConfig, "http_api.listen: " + hp.error().detail};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(hp->port);
  if (getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), port.c_str(), &hints, &found) != 0 || !found) {
    return Error{ErrorCode::kConfig, "http_api.listen " + listen + ": host not found"};
  }
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 512) != 0) {
    std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    freeaddrinfo(found);
    return Error{ErrorCode::kTransport, "http_api.listen " + listen + ": " + reason};
  }
  freeaddrinfo(found);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  bound = peer_address(addr);
  if (addr.ss_family == AF_INET6) {
    std::size_t colon = bound.rfind(':');
    bound = "[" + bound.substr(0, colon) + "]" + bound.substr(colon);
  }
  return fd;
}

}  // namespace

struct HttpApi::Impl {
  HttpApiOptions options;
  TlsContext tls;
  CertificateMap certificates;
  std::unique_ptr<contracts::ContractRegistry> registry;
  zmq::context_t context{1};
  std::unique_ptr<Api> api;
  int listen_fd = -1;
  std::string endpoint;
  std::atomic<bool> stopping{false};
  int wake[2] = {-1, -1};  // a pipe: writing to it wakes the accept loop to stop
  std::thread acceptor;
  std::thread housekeeper;
  std::mutex mu;  // guards connections, and the housekeeper's wait
  std::condition_variable stopped;
  struct Connection {
    std::thread thread;
    int fd = -1;
    std::atomic<bool> done{false};
  };
  std::list<Connection> connections;
  ops::MetricsRegistry* metrics = nullptr;  // the broker's; null: nothing counted
  std::size_t open = 0;                     // connections held, as the gauge shows it; guarded by mu

  // With mu held: one connection more (opened) or fewer, and the gauge shows it.
  void count_open(bool opened) {
    open = opened ? open + 1 : open - 1;
    if (metrics) metrics->set(kConnectionsOpen, {}, static_cast<double>(open));
  }

  Impl(HttpApiOptions o, TlsContext t) : options(std::move(o)), tls(std::move(t)) {}

  ~Impl() {
    for (int fd : {listen_fd, wake[0], wake[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void reap() {  // with mu held
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done.load()) {
        it->thread.join();
        ::close(it->fd);
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  void accept_loop() {
    while (!stopping.load()) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
      if (::poll(fds, 2, 1000) < 0 && errno != EINTR) break;
      if (fds[1].revents) break;
      {
        std::lock_guard lock(mu);
        reap();
      }
      if (!(fds[0].revents & POLLIN)) continue;
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mu);
      if (connections.size() >= options.max_connections) {
        log().warn("https connection refused address={} reason=max_connections {}", peer_address(addr), options.max_connections);
        ::close(fd);
        if (metrics) metrics->add(kConnectionsRefused, {{"reason", "max_connections"}});
        continue;
      }
      // The connection's thread works on a duplicate of the descriptor and closes it; this one stays
      // open until the thread is joined, so stop() can shut the socket down without racing a close
      // (and a reuse of the number).
      const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (own < 0) {
        ::close(fd);
        continue;
      }
      Connection& c = connections.emplace_back();
      c.fd = fd;
      count_open(true);
      c.thread = std::thread([this, &c, own, address = peer_address(addr)] {
        serve(own, address);
        ::shutdown(c.fd, SHUT_RDWR);  // the client sees the end now, not when the thread is reaped
        {
          std::lock_guard lock(mu);
          count_open(false);
        }
        c.done.store(true);
      });
    }
  }

  // One connection: the handshake, then its requests in turn until it closes or falls silent.
  void serve(int fd, const std::string& address) {
    auto tls_connection = TlsConnection::accept(tls, fd, options.io_timeout);
    if (!tls_connection) {
      log().warn("https handshake refused address={} reason={}", address, tls_connection.error().detail);
      if (metrics) metrics->add(kHandshakesRefused, {{"kind", refusal_kind(tls_connection.error().detail)}});
      return;
    }
    TlsConnection& conn = *tls_connection;
    ConnectionState state;
    state.peer = conn.peer();
    state.partner = certificates.partner_of(state.peer);
    state.origin = origin_of(state.peer);
    if (state.partner.empty()) {
      log().warn("https certificate not mapped address={} subject={} sha256={}", address, state.peer.subject, state.peer.sha256);
    } else {
      log().info("https connect partner={} address={} subject={} serial={}", state.partner, address, state.peer.subject,
                 state.peer.cert_serial);
    }
    HttpReader reader(conn, options.max_body_bytes);
    while (!stopping.load()) {
      auto next = reader.next();
      if (next.error) {
        log().warn("https request refused partner={} address={} status={} detail={}", state.partner, address,
                   next.error->status, next.error->detail);
        if (metrics) {
          metrics->add(kRequests, {{"route", "unread"}, {"method", "other"}, {"status", std::to_string(next.error->status)}});
        }
        // The client may still be sending the refused body: give it the time to read the answer
        // before the close (closing on unread data resets the connection, answer and all).
        if (write_response(conn, Api::read_error(*next.error))) conn.linger(kLinger, kLingerBytes);
        break;
      }
      if (!next.request) break;
      const auto started = std::chrono::steady_clock::now();
      HttpResponse response = answer(*next.request, state);
      if (metrics) {
        const std::string route = route_of(next.request->path);
        metrics->add(kRequests, {{"route", route}, {"method", method_label(next.request->method)},
                                 {"status", std::to_string(response.status)}});
        metrics->observe(kRequestSeconds, {{"route", route}},
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      log().debug("https {} {} partner={} status={}", next.request->method, next.request->path, state.partner, response.status);
      if (!next.request->keep_alive) response.close = true;
      if (!write_response(conn, response) || response.close) break;
    }
  }

  // The answer to one request. Api reports every expected failure as an answer; an exception is a
  // bug, and it ends this request with 500 rather than the process.
  HttpResponse answer(const HttpRequest& request, ConnectionState& state) {
    try {
      return api->handle(request, state);
    } catch (const std::exception& e) {
      log().error("https request failed partner={} path={} error={}", state.partner, request.path, e.what());
      HttpResponse r;
      r.status = 500;
      r.content_type = "application/problem+json";
      r.body = R"({"type":"urn:keten:problem:internal","title":"Internal error","status":500,"code":"internal"})";
      r.close = true;
      return r;
    }
  }

  void housekeeping() {
    std::unique_lock lock(mu);
    while (!stopping.load()) {
      stopped.wait_for(lock, kKeepAliveInterval, [this] { return stopping.load(); });
      if (stopping.load()) break;
      lock.unlock();
      api->keep_alive();
      lock.lock();
    }
  }
};

HttpApi::HttpApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpApi::~HttpApi() { stop(); }

Result<std::unique_ptr<HttpApi>> HttpApi::start(const HttpApiOptions& options, const std::vector<PartnerCertificate>& partners,
                                                GatewayKeys keys, BrokerAddress broker,
                                                std::unique_ptr<contracts::ContractRegistry> registry,
                                                ops::MetricsRegistry* metrics) {
  auto tls = TlsContext::create(options);
  if (!tls) return tls.error();
  // A client that hangs up while its answer is written must not end the process: writes to a
  // closed TCP connection report EPIPE instead of raising SIGPIPE (libzmq already avoids it).
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>(options, std::move(*tls));
  for (const auto& p : partners) {
    if (!p.oin.empty()) impl->certificates.by_oin[p.oin] = p.partner;
    if (!p.cert_sha256.empty()) impl->certificates.by_sha256[p.cert_sha256] = p.partner;
  }
  impl->registry = std::move(registry);
  impl->metrics = metrics;
  if (metrics) describe_metrics(*metrics);
  broker.endpoint = local_endpoint(broker.endpoint);
  const auto ack_timeout = broker.ack_timeout;
  impl->api = std::make_unique<Api>(*impl->registry, impl->context, std::move(broker), std::move(keys), options.max_wait,
                                    ack_timeout);
  auto fd = bind_listener(options.listen, impl->endpoint);
  if (!fd) return fd.error();
  impl->listen_fd = *fd;
  if (::pipe2(impl->wake, O_CLOEXEC) != 0) return Error{ErrorCode::kTransport, "pipe: " + std::string(std::strerror(errno))};
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->accept_loop(); });
  impl->housekeeper = std::thread([raw] { raw->housekeeping(); });
  log().info("https api listening endpoint={} partners={} max_body_bytes={}", impl->endpoint, partners.size(),
             options.max_body_bytes);
  return std::unique_ptr<HttpApi>(new HttpApi(std::move(impl)));
}

Result<void> HttpApi::check_files(const HttpApiOptions& options) {
  auto tls = TlsContext::create(options);
  if (!tls) return tls.error();
  return {};
}

std::string HttpApi::endpoint() const { return impl_->endpoint; }

void HttpApi::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (impl_->wake[1] >= 0) (void)!::write(impl_->wake[1], "x", 1);
  impl_->stopped.notify_all();
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  if (impl_->housekeeper.joinable()) impl_->housekeeper.join();
  {
    std::lock_guard lock(impl_->mu);
    // Wakes every connection thread out of its blocking read.
    for (auto& c : impl_->connections) ::shutdown(c.fd, SHUT_RDWR);
  }
  for (auto& c : impl_->connections) {
    c.thread.join();
    ::close(c.fd);
  }
  impl_->connections.clear();
  impl_->api.reset();  // closes the broker sockets before the context ends
}

}  // namespace broker::http_api
