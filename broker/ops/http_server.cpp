#include "broker/ops/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "broker/ops/event_stream.h"
#include "broker/ops/log.h"
#include "broker/ops/serving_thread.h"

namespace broker::ops {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

constexpr const char* kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

Result<HostPort> parse_host_port(const std::string& listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Error{ErrorCode::kConfig, "http listen address \"" + listen + "\" must be host:port"};
  }
  HostPort out;
  out.host = listen.substr(0, colon);
  if (out.host.front() == '[') {
    if (out.host.size() < 3 || out.host.back() != ']') {
      return Error{ErrorCode::kConfig, "http listen address \"" + listen + "\" has an unclosed [ipv6] host"};
    }
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  auto [end, ec] = std::from_chars(first, last, out.port);
  if (ec != std::errc() || end != last || out.port < 0 || out.port > 65535) {
    return Error{ErrorCode::kConfig, "http listen address \"" + listen + "\" has no port number 0-65535"};
  }
  return out;
}

struct HttpServer::Impl {
  httplib::Server server;
  std::unique_ptr<ServingThread> serving;  // after `server`: destroyed (stopped, joined) first
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() = default;

std::string HttpServer::endpoint() const { return impl_->serving->endpoint(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen, HttpHandlers handlers) {
  auto address = parse_host_port(listen);
  if (!address) return address.error();
  auto impl = std::make_unique<Impl>();
  auto& server = impl->server;
  // Scrapes and probes are few; two workers are plenty and keep the thread count small. Each
  // /events subscriber holds a worker for as long as it listens: one more per possible subscriber.
  const std::size_t workers = 2 + (handlers.events ? handlers.event_subscribers : 0);
  server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);

  server.Get("/healthz", [health = handlers.health](const httplib::Request&, httplib::Response& res) {
    HealthStatus s = health ? health() : HealthStatus{};
    std::string body = std::string(s.healthy() ? "ok" : "unhealthy") +
                       "\nstore_writable=" + (s.store_writable ? "true" : "false") +
                       "\nsocket_bound=" + (s.socket_bound ? "true" : "false") +
                       "\nloop_alive=" + (s.loop_alive ? "true" : "false") + "\n";
    if (!s.detail.empty()) body += "detail=" + s.detail + "\n";
    res.status = s.healthy() ? 200 : 503;
    res.set_content(body, "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [ready = handlers.ready](const httplib::Request&, httplib::Response& res) {
    bool ok = ready && ready();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ready\n" : "not ready\n", "text/plain; charset=utf-8");
  });
  server.Get("/metrics", [metrics = handlers.metrics](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(metrics ? metrics() : std::string(), kPrometheusType);
  });

  if (handlers.events) {
    server.Get("/events", [stream = handlers.events](const httplib::Request& req, httplib::Response& res) {
      EventFilter filter;
      if (req.has_param("kind")) {
        const std::string kinds = req.get_param_value("kind");
        for (std::size_t from = 0; from <= kinds.size();) {
          const std::size_t comma = std::min(kinds.find(',', from), kinds.size());
          if (comma > from) filter.kinds.insert(kinds.substr(from, comma - from));
          from = comma + 1;
        }
      }
      filter.partner = req.get_param_value("partner");
      filter.contract = req.get_param_value("contract");
      auto subscriber = stream->subscribe(std::move(filter));
      if (!subscriber) {
        res.status = 503;
        res.set_content("event stream: no more subscribers (http.event_stream_subscribers)\n", "text/plain; charset=utf-8");
        return;
      }
      log().info("event stream subscribed remote={} query={}", req.remote_addr, req.target);
      res.set_header("Cache-Control", "no-cache");
      auto first = std::make_shared<bool>(true);
      res.set_chunked_content_provider(
          "text/event-stream",
          [subscriber, first](std::size_t, httplib::DataSink& sink) {
            std::string out;
            if (*first) {
              out = ": subscribed\n\n";  // says the subscription is in place
              *first = false;
            } else {
              std::uint64_t dropped = 0;
              bool closed = false;
              auto messages = subscriber->take(std::chrono::seconds(5), dropped, closed);
              if (closed) return false;
              if (dropped > 0) out += "event: dropped\ndata: {\"dropped\":" + std::to_string(dropped) + "}\n\n";
              for (const auto& m : messages) out += m;
              if (out.empty()) out = ": keepalive\n\n";  // finds a subscriber that went away
            }
            return sink.write(out.data(), out.size());
          },
          [stream, subscriber](bool) {
            stream->unsubscribe(subscriber);
            log().info("event stream ended");
          });
    });
  }

  auto serving = ServingThread::start(server, *address, "http");
  if (!serving) return serving.error();
  impl->serving = std::move(*serving);
  log().info("http listening endpoint={}", impl->serving->endpoint());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace broker::ops
