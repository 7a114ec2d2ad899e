#pragma once
// HttpServer: the operator's HTTP endpoint (cpp-httplib, kept out of this header) on its own
// threads: GET /healthz, /readyz and /metrics. It owns no broker state: every answer comes from a
// callback, which must be safe to call from the HTTP threads. docs/operations.md describes the
// answers.
//
// Lifecycle: start() binds and starts serving; the destructor stops and joins. Movable only by
// pointer (start returns a unique_ptr).

#include <functional>
#include <memory>
#include <string>

#include "contracts/error.h"

namespace broker::ops {

struct HealthStatus {
  bool store_writable = false;  // the last store transaction committed
  bool socket_bound = false;    // the broker's ZeroMQ socket is bound
  bool loop_alive = false;      // the broker loop turned recently
  std::string detail;           // what is wrong, "" when healthy
  bool healthy() const { return store_writable && socket_bound && loop_alive; }
};

class EventStream;

struct HttpHandlers {
  std::function<HealthStatus()> health;  // /healthz: 200 when healthy(), else 503
  std::function<bool()> ready;           // /readyz: 200 when true, else 503
  std::function<std::string()> metrics;  // /metrics: 200 with the Prometheus text
  // /events: Server-Sent Events of the handover log (event_stream.h); null = no /events. Must
  // outlive the server, and be closed before it stops (or open streams hold its threads).
  EventStream* events = nullptr;
  std::size_t event_subscribers = 0;     // extra HTTP threads: one per possible subscriber
};

// "host:port" or "[v6-host]:port" split into host and port; kConfig naming the problem otherwise.
// Port 0 asks for an ephemeral port.
struct HostPort {
  std::string host;
  int port = 0;
};
[[nodiscard]] contracts::Result<HostPort> parse_host_port(const std::string& listen);

class HttpServer {
 public:
  // Binds `listen` ("127.0.0.1:9464") and serves until destroyed. kConfig for a malformed address,
  // kTransport when the bind fails.
  [[nodiscard]] static contracts::Result<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                                            HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "host:port" as bound (the real port when 0 was asked for).
  std::string endpoint() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::ops
