#include "broker/console/server_impl.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/audit/hash_chain.h"
#include "broker/audit/replay.h"
#include "broker/console/broker_status.h"
#include "broker/console/case_page.h"
#include "broker/console/catalogue_page.h"
#include "broker/console/dead_letters_page.h"
#include "broker/console/event_proofs.h"
#include "broker/console/html.h"
#include "broker/console/log.h"
#include "broker/console/messages_page.h"
#include "broker/console/partners_page.h"
#include "broker/console/paging.h"
#include "broker/events/codec.h"
#include "broker/events/render.h"
#include "broker/tlog/merkle.h"
#include "broker/console/payload_policy.h"
#include "broker/report/contract_info.h"
#include "broker/report/render.h"
#include "broker/report/source.h"
#include "broker/store/console_queries.h"
#include "broker/store/sqlite_store.h"
#include "contracts/time.h"

namespace broker::console {

using contracts::ErrorCode;
using httplib::Request;
using httplib::Response;

void ConsoleServer::Impl::partners(const Request& req, Response& res) const {
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
  auto pager = partner_page(req, *rows);
  if (!pager) return send_page(res, 400, frame, "<p class=\"error\">" + escape(pager.error().detail) + "</p>");
  send_page(res, 200, frame, render_partners(*rows, now, window, live) + *pager);
}

void ConsoleServer::Impl::dead_letters(const Request& req, Response& res) const {
  const Viewer* v = require_viewer(req, res);
  if (!v) return;
  Frame frame{"Dead letters", "dead", v->label(), 0};
  auto filter = filter_from(req, *v);
  filter.state.clear();
  auto per = dead_letter_page(req, filter);
  if (!per) return send_page(res, 400, frame, "<p class=\"error\">" + escape(per.error().detail) + "</p>");
  if (!record_read(req, res, *v, frame, filter.case_ref, filter.recipient)) return;
  auto s = open_store(true);
  if (!s) return storage_failure(res, frame, s.error());
  auto rows = store::find_dead_letters(*s, filter);
  if (!rows) return storage_failure(res, frame, rows.error());
  const auto pager = dead_letter_pager(req, *rows, filter, *per);
  send_page(res, 200, frame, render_dead_letters(*rows, filter, *v) + pager);
}

void ConsoleServer::Impl::messages(const Request& req, Response& res) const {
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
  auto per = message_page(req, filter);
  if (!per) return send_page(res, 400, frame, "<p class=\"error\">" + escape(per.error().detail) + "</p>");
  if (!record_read(req, res, *v, frame, filter.case_ref, filter.recipient)) return;
  auto s = open_store(true);
  if (!s) return storage_failure(res, frame, s.error());
  if (filter.case_ref.empty() && filter.cases.empty()) {  // else messages_by_case serves it
    auto range = store::message_seq_range(*s);
    if (!range) return storage_failure(res, frame, range.error());
    filter.min_seq = search_floor(filter.before_seq, *range, options.search_rows);
  }
  auto rows = store::find_messages(*s, filter);
  if (!rows) {
    if (rows.error().code == ErrorCode::kConfig) {
      return send_page(res, 400, frame, "<p class=\"error\">" + escape(rows.error().detail) + "</p>");
    }
    return storage_failure(res, frame, rows.error());
  }
  const auto pager = message_pager(req, *rows, filter, *per);
  send_page(res, 200, frame, render_message_search(*rows, filter, from_text, to_text) + pager);
}

bool ConsoleServer::Impl::refuse_message(const Viewer& v, const std::optional<store::MessageRecord>& record,
                                         const Frame& frame, Response& res) const {
  if (record && v.may_see_case(record->row.case_ref)) return false;
  send_page(res, record ? 403 : 404, frame,
            record ? "<p class=\"error\">This message belongs to a case you may not see.</p>"
                   : "<p class=\"error\">No message with this id.</p>");
  return true;
}

void ConsoleServer::Impl::message(const Request& req, Response& res) const {
  const Viewer* v = require_viewer(req, res);
  if (!v) return;
  const std::string id = req.matches[1];
  Frame frame{"Message " + id, "messages", v->label(), 0};
  auto s = open_store(true);
  if (!s) return storage_failure(res, frame, s.error());
  auto record = store::find_message_record(*s, id);
  if (!record) return storage_failure(res, frame, record.error());
  // Whether it exists and which case it belongs to is not shown before the checks below.
  if (refuse_message(*v, *record, frame, res)) return;
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
  auto log = std::make_optional<audit::EventLog>();
  log->events = (*record)->events;
  for (const auto& e : log->events) log->hashes[e.seq] = events::hex(tlog::leaf_hash(events::encode_event(e.event)));
  std::vector<std::uint64_t> seqs;
  for (const auto& e : log->events) seqs.push_back(e.seq);
  auto proofs = prove_events([this] { return open_store(true); }, seqs);
  if (!proofs) return storage_failure(res, frame, proofs.error());
  for (const auto& row : proofs->damaged_shortcuts)
    console::log().warn("message page found a changed shortcut row message_id={} row=\"{}\"", id, row);
  send_page(res, 200, frame, render_message(**record, *log, *proofs, payload_for(*v, payload, unreadable, schema)));
}

void ConsoleServer::Impl::message_proof(const Request& req, Response& res) const {
  const Viewer* v = require_viewer(req, res);
  if (!v) return;
  const std::string id = req.matches[1];
  Frame frame{"Message " + id, "messages", v->label(), 0};
  auto seq = seq_key(req.matches[2]);
  if (!seq) return send_page(res, 400, frame, "<p class=\"error\">The event's seq is not a number.</p>");
  auto s = open_store(true);
  if (!s) return storage_failure(res, frame, s.error());
  auto record = store::find_message_record(*s, id);
  if (!record) return storage_failure(res, frame, record.error());
  if (refuse_message(*v, *record, frame, res)) return;
  // Only the message's own events: the proof of any other seq is another case's data.
  const auto& events = (*record)->events;
  if (std::none_of(events.begin(), events.end(), [&](const events::LoggedEvent& e) { return e.seq == static_cast<std::uint64_t>(*seq); })) {
    return send_page(res, 404, frame, "<p class=\"error\">This message has no event with that seq.</p>");
  }
  if (!record_read(req, res, *v, frame, (*record)->row.case_ref, "")) return;
  auto ev = prove_one([this] { return open_store(true); }, static_cast<std::uint64_t>(*seq));
  if (!ev) {
    if (ev.error().code != ErrorCode::kMalformedEnvelope) return storage_failure(res, frame, ev.error());
    return send_page(res, 409, frame, "<p class=\"error\">No proof: " + escape(ev.error().detail) + "</p>");
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Content-Disposition", "attachment; filename=\"keten-proof-" + std::to_string(*seq) + ".json\"");
  res.set_content(audit::inclusion_json(*ev), "application/json");
}

void ConsoleServer::Impl::case_page(const Request& req, Response& res) const {
  const Viewer* v = require_viewer(req, res);
  if (!v) return;
  const std::string case_ref = param(req, "case");
  Frame frame{case_ref.empty() ? "Cases" : "Case " + case_ref, "cases", v->label(), 0};
  if (case_ref.empty()) return case_list(req, res, *v, frame);
  if (!v->may_see_case(case_ref)) {
    return send_page(res, 403, frame, render_case_chooser("You may not see case " + case_ref + "."));
  }
  auto as_of = time_param("as_of", param(req, "as_of"));
  if (!as_of) return send_page(res, 400, frame, render_case_chooser(as_of.error().detail));
  const std::string partner = param(req, "partner");
  if (!record_read(req, res, *v, frame, case_ref, partner)) return;
  // The case's events through the case index, each proven against the latest signed checkpoint.
  auto proven = prove_case([this] { return open_store(true); }, case_ref);
  if (!proven) return storage_failure(res, frame, proven.error());
  auto log = std::make_optional<audit::EventLog>();
  log->events = std::move(proven->events);
  log->hashes = std::move(proven->leaf_hashes);
  CaseView view;
  view.case_ref = case_ref;
  for (const auto& e : log->events) {
    // The console's own reads are events of the case too, and the broker's starts concern it; they
    // are not stops of its story.
    const auto kind = e.event.kind();
    if (kind != events::Kind::kLogRead && kind != events::Kind::kStarted) view.event_times.push_back(e.event.at);
  }
  std::sort(view.event_times.begin(), view.event_times.end());
  view.event_times.erase(std::unique(view.event_times.begin(), view.event_times.end()), view.event_times.end());
  // The first stop is just before the case began: what nobody knew yet.
  if (!view.event_times.empty()) view.event_times.insert(view.event_times.begin(), view.event_times.front() - 1);
  view.partners = audit::build_timeline(*log, {case_ref, "", 0}).partners;
  view.verification = std::move(proven->report);
  view.timeline = audit::build_timeline(*log, {case_ref, partner, *as_of});
  // A shortcut row of the store's tree found changed: the events were proven without it, and the
  // replay says so above its timeline (docs/console.md).
  for (const auto& row : proven->damaged_shortcuts)
    console::log().warn("case page found a changed shortcut row case_ref={} row=\"{}\"", case_ref, row);
  view.timeline.damaged_shortcuts = std::move(proven->damaged_shortcuts);
  view.replay_html = audit::render_html(view.timeline, view.verification);
  if (options.contracts) {
    for (const auto& [key, c] : options.contracts->all()) view.owners[c.name] = c.owners;
  }
  send_page(res, 200, frame, render_case(view));
}

void ConsoleServer::Impl::case_bundle_download(const Request& req, Response& res) const {
  const Viewer* v = require_viewer(req, res);
  if (!v) return;
  const std::string case_ref = param(req, "case");
  Frame frame{"Case " + case_ref, "cases", v->label(), 0};
  if (case_ref.empty()) return send_page(res, 400, frame, render_case_chooser("Which case? case= is missing."));
  if (!v->may_see_case(case_ref)) return send_page(res, 403, frame, render_case_chooser("You may not see case " + case_ref + "."));
  if (!record_read(req, res, *v, frame, case_ref, "")) return;
  auto bundle = case_bundle([this] { return open_store(true); }, case_ref);
  if (!bundle) {
    if (bundle.error().code != ErrorCode::kMalformedEnvelope) return storage_failure(res, frame, bundle.error());
    return send_page(res, 409, frame, "<p class=\"error\">No bundle: " + escape(bundle.error().detail) + "</p>");
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Content-Disposition", "attachment; filename=\"case-bundle.jsonl\"");
  res.set_content(bundle->text, "application/x-ndjson");
}

void ConsoleServer::Impl::case_list(const Request& req, Response& res, const Viewer& v, const Frame& frame) const {
  store::CaseFilter filter;
  filter.prefix = param(req, "prefix");
  filter.cases = v.cases;
  auto per = case_page_size(req, filter);
  if (!per) return send_page(res, 400, frame, "<p class=\"error\">" + escape(per.error().detail) + "</p>");
  // Which cases exist, with their partners, is case data: recorded like the message list.
  if (!record_read(req, res, v, frame, "", "")) return;
  auto s = open_store(true);
  if (!s) return storage_failure(res, frame, s.error());
  auto rows = store::find_cases(*s, filter);
  if (!rows) return storage_failure(res, frame, rows.error());
  const auto pager = case_pager(req, *rows, filter, *per);
  send_page(res, 200, frame, render_case_list(*rows, filter.prefix, v.is_limited()) + pager);
}

void ConsoleServer::Impl::contracts_page(const Request& req, Response& res) const {
  const Viewer* v = require_viewer(req, res);
  if (!v) return;
  send_page(res, 200, {"Contracts", "contracts", v->label(), 0},
            render_contracts(options.contracts ? &*options.contracts : nullptr));
}

void ConsoleServer::Impl::quality(const Request& req, Response& res) const {
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

}  // namespace broker::console
