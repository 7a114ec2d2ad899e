#include "broker/console/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "broker/audit/hash_chain.h"
#include "broker/audit/replay.h"
#include "broker/console/broker_status.h"
#include "broker/console/case_page.h"
#include "broker/console/catalogue_page.h"
#include "broker/console/dead_letters_page.h"
#include "broker/console/gate_page.h"
#include "broker/console/html.h"
#include "broker/console/log.h"
#include "broker/console/messages_page.h"
#include "broker/console/partners_page.h"
#include "broker/console/payload_policy.h"
#include "broker/console/resend.h"
#include "broker/ops/http_server.h"
#include "broker/ops/serving_thread.h"
#include "broker/report/contract_info.h"
#include "broker/report/render.h"
#include "broker/report/source.h"
#include "broker/store/console_queries.h"
#include "broker/store/sqlite_store.h"
#include "contracts/time.h"

namespace broker::console {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using httplib::Request;
using httplib::Response;

constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr std::string_view kPurposeCookie = "keten_purpose";

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

}  // namespace

struct ConsoleServer::Impl {
  ConsoleOptions options;
  httplib::Server server;
  std::unique_ptr<ops::ServingThread> serving;  // after `server`: destroyed (stopped, joined) first

  Result<store::SqliteStore> open_store(bool read_only) const {
    store::StoreOptions o;
    o.path = options.store;
    o.read_only = read_only;
    o.payload_key = options.payload_key;
    return store::SqliteStore::open(o);
  }

  // Appends rows in one transaction of their own.
  Result<void> append(std::vector<store::LogEvent> events) const {
    auto s = open_store(false);
    if (!s) return s.error();
    if (auto r = s->begin(); !r) return r;
    for (auto& e : events) {
      auto seq = s->append_log(std::move(e));
      if (!seq) {
        s->rollback();
        return seq.error();
      }
    }
    if (auto r = s->commit(); !r) {
      s->rollback();
      return r;
    }
    return {};
  }

  const Viewer* viewer(const Request& req) const {
    return options.access.find(request_token(req.get_header_value("Authorization"), req.get_header_value("Cookie")));
  }

  // The viewer, or a 401 with the login form already in `res`.
  const Viewer* require_viewer(const Request& req, Response& res) const {
    const Viewer* v = viewer(req);
    if (v == nullptr) send_page(res, 401, {"Log in", "", "", 0}, render_login(""));
    return v;
  }

  std::string purpose(const Request& req, Response& res) const {
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
  bool record_read(const Request& req, Response& res, const Viewer& v, const Frame& frame, const std::string& case_ref,
                   const std::string& partner) const {
    const std::string why = purpose(req, res);
    if (why.empty()) {
      std::map<std::string, std::string> params;
      for (const auto& [k, val] : req.params) params[k] = val;
      send_page(res, 200, frame, render_purpose_form(req.path, params));
      return false;
    }
    store::LogEvent e;
    e.at = contracts::now_millis();
    e.event = "log_read";
    e.case_ref = case_ref;
    e.recipient = partner;
    std::string target = req.path;
    std::map<std::string, std::string> params;
    for (const auto& [k, val] : req.params) {
      if (k != "purpose") params[k] = val;
    }
    target += query_string(params);
    e.detail = nlohmann::json{{"command", "console GET " + target},
                              {"user", v.name},
                              {"role", to_string(v.role)},
                              {"purpose", why},
                              {"via", "console"}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (auto r = append({std::move(e)}); !r) {
      log().error("log_read not recorded viewer={} path={} detail={}", v.name, req.path, r.error().detail);
      send_page(res, 503, frame, "<p class=\"error\">This read could not be recorded in the handover log, so it is "
                                 "not shown: " + escape(r.error().detail) + "</p>");
      return false;
    }
    return true;
  }

  store::MessageFilter filter_from(const Request& req, const Viewer& v) const {
    store::MessageFilter f;
    f.case_ref = param(req, "case");
    f.contract = param(req, "contract");
    f.sender = param(req, "sender");
    f.recipient = param(req, "recipient");
    f.state = param(req, "state");
    f.cases = v.cases;
    return f;
  }

  void storage_failure(Response& res, const Frame& frame, const Error& e) const {
    log().error("console read failed detail={}", e.detail);
    send_page(res, 500, frame, "<p class=\"error\">" + escape(e.detail) + "</p>");
  }

  // --- pages ---

  void partners(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    Frame frame{"Partners", "partners", v->label(), 10};
    auto s = open_store(true);
    if (!s) return storage_failure(res, frame, s.error());
    const Millis now = contracts::now_millis();
    const Millis window = options.partner_window.count();
    auto rows = store::partner_summaries(*s, now - window);
    if (!rows) return storage_failure(res, frame, rows.error());
    std::map<std::string, PartnerLiveness> connections;
    Liveness live;
    if (!options.broker_http.empty()) {
      auto metrics = fetch_metrics(options.broker_http);
      if (metrics) {
        connections = parse_partner_liveness(*metrics);
        live.partners = &connections;
        // A configured partner that has neither sent nor been sent anything yet.
        for (const auto& [name, l] : connections) {
          auto at = std::lower_bound(rows->begin(), rows->end(), name,
                                     [](const store::PartnerSummary& p, const std::string& n) { return p.partner < n; });
          if (at == rows->end() || at->partner != name) {
            store::PartnerSummary quiet;
            quiet.partner = name;
            rows->insert(at, std::move(quiet));
          }
        }
      } else {
        log().warn("broker metrics not read endpoint={} detail={}", options.broker_http, metrics.error().detail);
        live.problem = metrics.error().detail;
      }
    }
    send_page(res, 200, frame, render_partners(*rows, now, window, live));
  }

  void dead_letters(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    Frame frame{"Dead letters", "dead", v->label(), 0};
    auto filter = filter_from(req, *v);
    filter.state.clear();
    if (!record_read(req, res, *v, frame, filter.case_ref, filter.recipient)) return;
    auto s = open_store(true);
    if (!s) return storage_failure(res, frame, s.error());
    auto rows = store::find_dead_letters(*s, filter);
    if (!rows) return storage_failure(res, frame, rows.error());
    send_page(res, 200, frame, render_dead_letters(*rows, filter, *v));
  }

  void resend(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    Frame frame{"Resend", "dead", v->label(), 0};
    if (!v->may_resend()) {
      log().warn("resend refused viewer={} role={}", v->name, to_string(v->role));
      return send_page(res, 403, frame, "<p class=\"error\">Only an operator may resend; you are logged in as " +
                                            escape(v->label()) + ".</p>");
    }
    if (options.profiles.empty()) {
      return send_page(res, 409, frame, "<p class=\"error\">The console was started without --profiles: it has no "
                                        "client profile to resend with.</p>");
    }
    auto s = open_store(true);
    if (!s) return storage_failure(res, frame, s.error());
    std::vector<std::int64_t> ids;
    if (req.has_param("one")) {
      ids.push_back(std::atoll(param(req, "one").c_str()));
    } else if (req.has_param("all")) {
      auto filter = filter_from(req, *v);
      filter.limit = 1000;
      auto rows = store::find_dead_letters(*s, filter);
      if (!rows) return storage_failure(res, frame, rows.error());
      for (const auto& d : *rows) ids.push_back(d.delivery_id);
    } else {
      for (std::size_t i = 0, n = req.get_param_value_count("delivery"); i < n; ++i) {
        ids.push_back(std::atoll(req.get_param_value("delivery", i).c_str()));
      }
    }
    ResendActor actor{v->name, options.profiles.string(), "console", purpose(req, res)};
    Resender resender(options.profiles, options.receipt_timeout);
    std::map<std::string, std::string> new_ids;
    std::vector<ResendLine> lines;
    for (const auto id : ids) {
      ResendLine line;
      line.status = "not sent";
      auto d = s->find_delivery_header(id);
      if (!d || !*d) {
        line.original_id = "delivery " + std::to_string(id);
        line.problem = d ? "no such delivery" : d.error().detail;
        lines.push_back(std::move(line));
        continue;
      }
      line.original_id = (*d)->header.message_id;
      line.recipient = (*d)->recipient;
      auto state = s->find_delivery(id);
      if (!state || !*state || (*state)->state != store::DeliveryState::kDead) {
        line.problem = "not a dead letter (any more)";
        lines.push_back(std::move(line));
        continue;
      }
      auto m = s->find_message_content(line.original_id);
      if (!m || !*m || !(*m)->unreadable.empty()) {
        line.problem = !m ? m.error().detail : !*m ? "message not found" : (*m)->unreadable;
        if (options.payload_key.empty()) line.problem += " (start the console with --payload-key to resend sealed payloads)";
        lines.push_back(std::move(line));
        continue;
      }
      const auto submit = resend_submit(**m, line.recipient, new_ids);
      auto receipt = resender.send((*m)->sender, submit);
      if (!receipt) {
        line.problem = receipt.error().detail;
        lines.push_back(std::move(line));
        continue;
      }
      new_ids[line.original_id] = submit.header.message_id;
      line.new_id = submit.header.message_id;
      line.status = std::string(contracts::to_string(receipt->status));
      if (receipt->status == contracts::ReceiptStatus::kRejected) line.problem = receipt->detail;
      log().info("resent message_id={} new_message_id={} recipient={} status={} viewer={}", line.original_id,
                 line.new_id, line.recipient, line.status, v->name);
      if (auto r = append({resent_event(**m, line.recipient, id, submit, *receipt, actor, contracts::now_millis())}); !r) {
        log().error("resent not recorded message_id={} detail={}", line.original_id, r.error().detail);
        line.problem += (line.problem.empty() ? "" : "; ") + std::string("the resend was NOT recorded in the log: ") +
                        r.error().detail;
      }
      lines.push_back(std::move(line));
    }
    send_page(res, 200, frame, render_resend_result(lines));
  }

  void messages(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    Frame frame{"Messages", "messages", v->label(), 0};
    auto filter = filter_from(req, *v);
    const std::string from_text = param(req, "from"), to_text = param(req, "to");
    auto from = time_param("from", from_text);
    auto to = time_param("to", to_text);
    if (!from || !to) {
      return send_page(res, 400, frame, "<p class=\"error\">" + escape((!from ? from : to).error().detail) + "</p>" +
                                            render_message_search({}, filter, from_text, to_text));
    }
    filter.from = *from;
    filter.to = *to;
    if (!record_read(req, res, *v, frame, filter.case_ref, filter.recipient)) return;
    auto s = open_store(true);
    if (!s) return storage_failure(res, frame, s.error());
    auto rows = store::find_messages(*s, filter);
    if (!rows) {
      if (rows.error().code == ErrorCode::kConfig) {
        return send_page(res, 400, frame, "<p class=\"error\">" + escape(rows.error().detail) + "</p>");
      }
      return storage_failure(res, frame, rows.error());
    }
    send_page(res, 200, frame, render_message_search(*rows, filter, from_text, to_text));
  }

  void message(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    const std::string id = req.matches[1];
    Frame frame{"Message " + id, "messages", v->label(), 0};
    auto s = open_store(true);
    if (!s) return storage_failure(res, frame, s.error());
    auto record = store::find_message_record(*s, id);
    if (!record) return storage_failure(res, frame, record.error());
    // Whether it exists and which case it belongs to is not shown before the checks below.
    if (!*record || !v->may_see_case((*record)->row.case_ref)) {
      return send_page(res, *record ? 403 : 404, frame,
                       *record ? "<p class=\"error\">This message belongs to a case you may not see.</p>"
                               : "<p class=\"error\">No message with this id.</p>");
    }
    if (!record_read(req, res, *v, frame, (*record)->row.case_ref, "")) return;
    std::string payload, unreadable, schema;
    if (v->role == Role::kInspector) {
      auto content = s->find_message_content(id);
      if (!content) unreadable = content.error().detail;
      else if (*content) {
        payload = (*content)->payload;
        unreadable = (*content)->unreadable;
      }
      if (options.contracts) {
        const auto& all = options.contracts->all();
        auto c = all.find(std::make_pair((*record)->row.contract, (*record)->row.version));
        if (c != all.end()) schema = c->second.schema_json;
      }
    }
    send_page(res, 200, frame, render_message(**record, payload_for(*v, payload, unreadable, schema)));
  }

  void case_page(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    const std::string case_ref = param(req, "case");
    Frame frame{case_ref.empty() ? "Cases" : "Case " + case_ref, "cases", v->label(), 0};
    if (case_ref.empty()) return send_page(res, 200, frame, render_case_chooser(""));
    if (!v->may_see_case(case_ref)) {
      return send_page(res, 403, frame, render_case_chooser("You may not see case " + case_ref + "."));
    }
    auto as_of = time_param("as_of", param(req, "as_of"));
    if (!as_of) return send_page(res, 400, frame, render_case_chooser(as_of.error().detail));
    const std::string partner = param(req, "partner");
    if (!record_read(req, res, *v, frame, case_ref, partner)) return;
    auto s = open_store(true);
    if (!s) return storage_failure(res, frame, s.error());
    auto rows = s->read_case_log(case_ref);
    if (!rows) return storage_failure(res, frame, rows.error());
    CaseView view;
    view.case_ref = case_ref;
    for (const auto& r : *rows) {
      // The console's own reads are rows of the case too; they are not stops of its story.
      if (r.event != "log_read") view.event_times.push_back(r.at);
    }
    std::sort(view.event_times.begin(), view.event_times.end());
    view.event_times.erase(std::unique(view.event_times.begin(), view.event_times.end()), view.event_times.end());
    // The first stop is just before the case began: what nobody knew yet.
    if (!view.event_times.empty()) view.event_times.insert(view.event_times.begin(), view.event_times.front() - 1);
    view.partners = audit::build_timeline(*rows, {case_ref, "", 0}).partners;
    view.verification = audit::verify_rows(*rows);
    view.timeline = audit::build_timeline(*rows, {case_ref, partner, *as_of});
    view.replay_html = audit::render_html(view.timeline, view.verification);
    if (options.contracts) {
      for (const auto& [key, c] : options.contracts->all()) view.owners[c.name] = c.owners;
    }
    send_page(res, 200, frame, render_case(view));
  }

  void contracts_page(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    send_page(res, 200, {"Contracts", "contracts", v->label(), 0},
              render_contracts(options.contracts ? &*options.contracts : nullptr));
  }

  void quality(const Request& req, Response& res) const {
    const Viewer* v = require_viewer(req, res);
    if (!v) return;
    Frame frame{"Quality report", "quality", v->label(), 0};
    const std::string from_text = param(req, "from"), to_text = param(req, "to");
    auto from = time_param("from", from_text);
    auto to = time_param("to", to_text);
    if (!from || !to) {
      return send_page(res, 400, frame, render_quality(from_text, to_text, "", (!from ? from : to).error().detail));
    }
    if (*to != 0 && *to <= *from) {
      return send_page(res, 400, frame, render_quality(from_text, to_text, "", "the period's end must be after its start"));
    }
    report::ReportQuery query{*from, *to, "", ""};
    auto input = report::read_store(options.store, query, options.payload_key);
    if (!input) return send_page(res, 500, frame, render_quality(from_text, to_text, "", input.error().detail));
    if (options.contracts) input->contracts = report::contract_infos(*options.contracts);
    const auto result = report::compute_quality(*input, query);
    send_page(res, 200, frame, render_quality(from_text, to_text, report::render_html(result), ""));
  }

  void login(const Request& req, Response& res) const {
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

  void routes() {
    server.Get("/", [](const Request&, Response& res) { res.set_redirect("/partners", 303); });
    server.Get("/login", [](const Request&, Response& res) { send_page(res, 200, {"Log in", "", "", 0}, render_login("")); });
    server.Post("/login", [this](const Request& req, Response& res) { login(req, res); });
    server.Get("/logout", [](const Request&, Response& res) {
      res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
      res.set_header("Set-Cookie", std::string(kPurposeCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
      res.set_redirect("/login", 303);
    });
    server.Get("/partners", [this](const Request& req, Response& res) { partners(req, res); });
    server.Get("/dead-letters", [this](const Request& req, Response& res) { dead_letters(req, res); });
    server.Post("/dead-letters/resend", [this](const Request& req, Response& res) { resend(req, res); });
    server.Get("/messages", [this](const Request& req, Response& res) { messages(req, res); });
    server.Get(R"(/messages/([^/]+))", [this](const Request& req, Response& res) { message(req, res); });
    server.Get("/cases", [this](const Request& req, Response& res) { case_page(req, res); });
    server.Get("/contracts", [this](const Request& req, Response& res) { contracts_page(req, res); });
    server.Get("/quality", [this](const Request& req, Response& res) { quality(req, res); });
  }
};

ConsoleServer::ConsoleServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConsoleServer::~ConsoleServer() = default;

void ConsoleServer::stop() { impl_->serving->stop(); }

std::string ConsoleServer::endpoint() const { return impl_->serving->endpoint(); }

Result<std::unique_ptr<ConsoleServer>> ConsoleServer::start(ConsoleOptions options) {
  auto address = ops::parse_host_port(options.listen);
  if (!address) return address.error();
  std::error_code ec;
  if (!std::filesystem::exists(options.store, ec)) {
    return Error{ErrorCode::kConfig, "store " + options.store.string() + " does not exist"};
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  auto& server = impl->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_payload_max_length(1 << 20);
  impl->routes();
  auto serving = ops::ServingThread::start(server, *address, "console");
  if (!serving) return serving.error();
  impl->serving = std::move(*serving);
  log().info("console listening endpoint={}", impl->serving->endpoint());
  return std::unique_ptr<ConsoleServer>(new ConsoleServer(std::move(impl)));
}

}  // namespace broker::console
