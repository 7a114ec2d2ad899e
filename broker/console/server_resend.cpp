#include "broker/console/server_impl.h"

#include <spdlog/spdlog.h>

#include "broker/console/dead_letters_page.h"
#include "broker/console/html.h"
#include "broker/console/log.h"
#include "broker/console/resend.h"
#include "broker/store/console_queries.h"
#include "broker/store/sqlite_store.h"
#include "contracts/time.h"

namespace broker::console {

using httplib::Request;
using httplib::Response;

namespace {

// "Resend all matching" resends at most this many of the newest matching dead letters per click.
constexpr std::size_t kResendAllMax = 1000;

}  // namespace

void ConsoleServer::Impl::resend(const Request& req, Response& res) const {
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
    if (auto t = dead_letter_times(req, filter); !t) {
      return send_page(res, 400, frame, "<p class=\"error\">" + escape(t.error().detail) + "</p>");
    }
    filter.limit = kResendAllMax;
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
      if (options.payload_key.empty() && m && *m && !store::is_shredded((*m)->unreadable)) line.problem += " (start the console with --payload-key to resend sealed payloads)";
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

}  // namespace broker::console
