#include "broker/console/server_impl.h"

#include <spdlog/spdlog.h>

#include <map>

#include "broker/console/gate_page.h"
#include "broker/console/html.h"
#include "broker/console/log.h"
#include "broker/store/transaction.h"
#include "contracts/time.h"

namespace broker::console {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using httplib::Request;
using httplib::Response;

namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

}  // namespace

std::string param(const Request& req, const char* key) { return req.has_param(key) ? req.get_param_value(key) : ""; }

std::string cookie(const Request& req, std::string_view name) {
  const std::string all = req.get_header_value("Cookie");
  std::string_view header = all;
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return httplib::detail::decode_url(std::string(pair.substr(eq + 1)), false);
    }
  }
  return {};
}

void send_page(Response& res, int status, const Frame& frame, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Frame-Options", "SAMEORIGIN");
  // Everything is inline and nothing is fetched from elsewhere; frames are srcdoc.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
                 "frame-src 'self' about:; form-action 'self'; base-uri 'none'");
  res.set_content(page(frame, body), kHtml);
}

Result<Millis> time_param(const char* name, const std::string& text) {
  if (text.empty()) return Millis{0};
  const std::string full = text.size() == 10 ? text + "T00:00:00Z" : text;
  auto t = contracts::parse_rfc3339(full);
  if (!t) return Error{ErrorCode::kConfig, std::string(name) + ": " + t.error().detail};
  return t;
}

Result<store::SqliteStore> ConsoleServer::Impl::open_store(bool read_only) const {
  store::StoreOptions o;
  o.path = options.store;
  o.read_only = read_only;
  o.payload_key = options.payload_key;
  return store::SqliteStore::open(o);
}

// Appends rows in one transaction of their own.
Result<void> ConsoleServer::Impl::append(std::vector<events::Event> events) const {
  auto s = open_store(false);
  if (!s) return s.error();
  auto transaction = store::Transaction::begin(*s);
  if (!transaction) return transaction.error();
  for (auto& e : events) {
    auto seq = s->append_event(std::move(e));
    if (!seq) return seq.error();  // the transaction rolls back
  }
  return transaction->commit();
}

const Viewer* ConsoleServer::Impl::viewer(const Request& req) const {
  if (const Viewer* by_certificate = certificate_viewer(req)) return by_certificate;
  return options.access.find(request_token(req.get_header_value("Authorization"), req.get_header_value("Cookie")));
}

// The viewer, or a 401 with the login form already in `res`.
const Viewer* ConsoleServer::Impl::require_viewer(const Request& req, Response& res) const {
  const Viewer* v = viewer(req);
  if (v == nullptr) send_page(res, 401, {"Log in", "", "", 0}, render_login(""));
  return v;
}

std::string ConsoleServer::Impl::purpose(const Request& req, Response& res) const {
  std::string p = param(req, "purpose");
  if (!p.empty()) {
    res.set_header("Set-Cookie", std::string(kPurposeCookie) + "=" + url_encode(p) + "; Path=/; HttpOnly; SameSite=Strict");
    return p;
  }
  return cookie(req, kPurposeCookie);
}

// Before any case data is sent: the purpose (asking for it when missing) and the `log_read` row.
// false when the response is already written (the purpose form, or a 503 when the read cannot be
// recorded: case data is never shown unrecorded).
bool ConsoleServer::Impl::record_read(const Request& req, Response& res, const Viewer& v, const Frame& frame, const std::string& case_ref,
                 const std::string& partner) const {
  const std::string why = purpose(req, res);
  if (why.empty()) {
    std::map<std::string, std::string> params;
    for (const auto& [k, val] : req.params) params[k] = val;
    send_page(res, 200, frame, render_purpose_form(req.path, params));
    return false;
  }
  std::string target = req.path;
  std::map<std::string, std::string> params;
  for (const auto& [k, val] : req.params) {
    if (k != "purpose") params[k] = val;
  }
  target += query_string(params);
  events::Event e;
  e.at = contracts::now_millis();
  e.case_ref = case_ref;
  e.recipient = partner;
  events::LogRead read{"console GET " + target, v.name, why, std::string(to_string(v.role)), "console"};
  // Logged in by a client certificate: which one (server_tls.cpp).
  if (const auto c = client_certificate(req); !c.sha256.empty()) {
    read.certificate_sha256 = c.sha256;
    read.certificate_subject = c.subject;
  }
  e.record = std::move(read);
  if (auto r = append({std::move(e)}); !r) {
    log().error("log_read not recorded viewer={} path={} detail={}", v.name, req.path, r.error().detail);
    send_page(res, 503, frame, "<p class=\"error\">This read could not be recorded in the handover log, so it is "
                               "not shown: " + escape(r.error().detail) + "</p>");
    return false;
  }
  return true;
}

store::MessageFilter ConsoleServer::Impl::filter_from(const Request& req, const Viewer& v) const {
  store::MessageFilter f;
  f.case_ref = param(req, "case");
  f.contract = param(req, "contract");
  f.sender = param(req, "sender");
  f.recipient = param(req, "recipient");
  f.state = param(req, "state");
  f.cases = v.cases;
  return f;
}

void ConsoleServer::Impl::storage_failure(Response& res, const Frame& frame, const Error& e) const {
  log().error("console read failed detail={}", e.detail);
  send_page(res, 500, frame, "<p class=\"error\">" + escape(e.detail) + "</p>");
}

}  // namespace broker::console
