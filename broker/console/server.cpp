#include "broker/console/server_impl.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "broker/console/gate_page.h"
#include "broker/console/log.h"
#include "broker/ops/http_server.h"
#include "broker/ops/serving_thread.h"

namespace broker::console {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using httplib::Request;
using httplib::Response;

void ConsoleServer::Impl::login(const Request& req, Response& res) const {
  const std::string token = param(req, "token");
  const Viewer* v = options.access.find(token);
  if (v == nullptr) {
    log().warn("console login refused from={}", req.remote_addr);
    return send_page(res, 401, {"Log in", "", "", 0}, render_login("That token is not valid."));
  }
  log().info("console login viewer={} role={}", v->name, to_string(v->role));
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + url_encode(token) + "; Path=/; HttpOnly; SameSite=Strict");
  // A purpose is the viewer's own: a new login asks again.
  res.set_header("Set-Cookie", std::string(kPurposeCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  res.set_redirect("/partners", 303);
}

void ConsoleServer::Impl::routes() {
  server->Get("/", [](const Request&, Response& res) { res.set_redirect("/partners", 303); });
  server->Get("/login", [](const Request&, Response& res) { send_page(res, 200, {"Log in", "", "", 0}, render_login("")); });
  server->Post("/login", [this](const Request& req, Response& res) { login(req, res); });
  server->Get("/logout", [](const Request&, Response& res) {
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    res.set_header("Set-Cookie", std::string(kPurposeCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    res.set_redirect("/login", 303);
  });
  server->Get("/partners", [this](const Request& req, Response& res) { partners(req, res); });
  server->Get("/dead-letters", [this](const Request& req, Response& res) { dead_letters(req, res); });
  server->Post("/dead-letters/resend", [this](const Request& req, Response& res) { resend(req, res); });
  server->Get("/messages", [this](const Request& req, Response& res) { messages(req, res); });
  server->Get(R"(/messages/([^/]+))", [this](const Request& req, Response& res) { message(req, res); });
  server->Get(R"(/messages/([^/]+)/proof/([^/]+))", [this](const Request& req, Response& res) { message_proof(req, res); });
  server->Get("/cases", [this](const Request& req, Response& res) { case_page(req, res); });
  server->Get("/cases/bundle", [this](const Request& req, Response& res) { case_bundle_download(req, res); });
  server->Get("/contracts", [this](const Request& req, Response& res) { contracts_page(req, res); });
  server->Get("/quality", [this](const Request& req, Response& res) { quality(req, res); });
}

ConsoleServer::ConsoleServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConsoleServer::~ConsoleServer() = default;

void ConsoleServer::stop() { impl_->serving->stop(); }

std::string ConsoleServer::endpoint() const { return impl_->serving->endpoint(); }

bool ConsoleServer::tls() const { return !impl_->options.tls_cert.empty(); }

Result<std::unique_ptr<ConsoleServer>> ConsoleServer::start(ConsoleOptions options) {
  auto address = ops::parse_host_port(options.listen);
  if (!address) return address.error();
  std::error_code ec;
  if (!std::filesystem::exists(options.store, ec)) {
    return Error{ErrorCode::kConfig, "store " + options.store.string() + " does not exist"};
  }
  auto made = make_server(options);
  if (!made) return made.error();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->server = std::move(*made);
  auto& server = *impl->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_payload_max_length(1 << 20);
  impl->routes();
  auto serving = ops::ServingThread::start(server, *address, "console");
  if (!serving) return serving.error();
  impl->serving = std::move(*serving);
  log().info("console listening endpoint={} tls={} client_ca={}", impl->serving->endpoint(),
             !impl->options.tls_cert.empty(), impl->options.client_ca.string());
  return std::unique_ptr<ConsoleServer>(new ConsoleServer(std::move(impl)));
}

}  // namespace broker::console
