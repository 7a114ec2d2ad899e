#include "broker/ops/ops.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "broker/ops/event_stream.h"
#include "broker/ops/http_server.h"
#include "broker/ops/log.h"
#include "broker/store/console_queries.h"
#include "broker/store/store.h"
#include "broker/store/transaction.h"

namespace broker::ops {
namespace {

using contracts::Millis;
using contracts::Result;

constexpr Millis kRefreshEvery = 1'000;      // gauges that cost a store query
constexpr Millis kLoopStalledAfter = 30'000;  // /healthz: the loop has not turned for this long
constexpr std::size_t kLogPage = 1'000;

std::uint64_t file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::uint64_t>(n);
}

// An alert as a handover-log event. The subject also goes where `keten log` filters look for it;
// an alert about one case's messages is part of that case's record (its replay shows it), one
// about several names them and stays one event (counted once).
events::Event alert_event(const Alert& a, Millis at) {
  events::Event e;
  e.at = at;
  switch (a.kind) {
    case AlertKind::kBacklog:
    case AlertKind::kOldestUndelivered:
    case AlertKind::kDeadLetters: e.recipient = a.subject; break;
    case AlertKind::kPartnerSilent: e.sender = a.subject; break;
    case AlertKind::kNormViolations: e.contract = a.subject; break;
    case AlertKind::kStoreNearlyFull:
    case AlertKind::kCheckpointOverdue: break;
  }
  if (a.cases.size() == 1) e.case_ref = a.cases.front();
  e.record = events::Alert{a.kind, a.subject, a.value, a.threshold, a.cases};
  return e;
}

}  // namespace

Ops::Ops(OpsContext context) : context_(std::move(context)) {}
Ops::~Ops() {
  if (stream_) stream_->close();
}

void Ops::observe_event(const events::LoggedEvent& event) {
  count_event(metrics_, tally_, event.event);
  note_case(event.event);
  if (!stream_) return;
  if (const std::uint64_t dropped = stream_->publish(event); dropped > 0) {
    metrics_.add("keten_event_stream_dropped_total", {}, static_cast<double>(dropped));
  }
}

namespace {

// The backlog per recipient. With the loop's counts, only the oldest undelivered message of each
// recipient is looked up (an index seek), so a refresh costs the same with 10 or 10M undelivered.
contracts::Result<std::vector<store::RecipientBacklog>> read_backlog(store::Store& store, const LoopView& view) {
  if (!view.undelivered) return store.backlog();
  std::vector<store::RecipientBacklog> out;
  for (const auto& [recipient, count] : *view.undelivered) {
    if (count == 0) continue;
    auto oldest = store.oldest_undelivered(recipient);
    if (!oldest) return oldest.error();
    out.push_back({recipient, static_cast<std::int64_t>(count), oldest->value_or(0)});
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Ops>> Ops::start(OpsContext context, store::Store& store, Millis now) {
  std::unique_ptr<Ops> ops(new Ops(std::move(context)));
  describe_broker_metrics(ops->metrics_);
  ops->observed_seq_ = store.log_head().seq;
  store.keep_committed_log(true);
  ops->started_at_ = now;
  ops->last_turn_ = contracts::now_millis();
  ops->last_check_ = now;
  ops->metrics_.set("keten_ready", {}, 0);
  ops->metrics_.set("keten_alerts_active", {}, 0);
  if (!ops->context_.options.http_listen.empty()) {
    Ops* self = ops.get();
    HttpHandlers handlers;
    handlers.health = [self] {
      HealthStatus s;
      s.store_writable = self->store_writable_.load();
      s.socket_bound = true;  // Ops exists only for a broker whose socket is bound
      s.loop_alive = contracts::now_millis() - self->last_turn_.load() < kLoopStalledAfter;
      if (!s.store_writable) s.detail = "the last store transaction failed";
      else if (!s.loop_alive) s.detail = "the broker loop has not turned for " + std::to_string(kLoopStalledAfter / 1000) + " s";
      return s;
    };
    handlers.ready = [self] { return self->ready_.load(); };
    handlers.metrics = [self] { return render_prometheus(self->metrics_.snapshot()); };
    if (ops->context_.options.event_stream_subscribers > 0) {
      ops->stream_ = std::make_unique<EventStream>(
          static_cast<std::size_t>(ops->context_.options.event_stream_subscribers),
          static_cast<std::size_t>(ops->context_.options.event_stream_queue));
      handlers.events = ops->stream_.get();
      ops->metrics_.describe("keten_event_stream_subscribers", MetricType::kGauge, "Subscribers of GET /events.");
      ops->metrics_.describe("keten_event_stream_dropped_total", MetricType::kCounter,
                             "Events dropped for /events subscribers whose queue was full.");
      ops->metrics_.set("keten_event_stream_subscribers", {}, 0);
      ops->metrics_.add("keten_event_stream_dropped_total", {}, 0);
      handlers.event_subscribers = static_cast<std::size_t>(ops->context_.options.event_stream_subscribers);
    }
    auto http = HttpServer::start(ops->context_.options.http_listen, std::move(handlers));
    if (!http) return http.error();
    ops->http_ = std::move(*http);
  }
  return ops;
}

std::string Ops::http_endpoint() const { return http_ ? http_->endpoint() : std::string(); }

void Ops::set_ready(bool ready) {
  ready_ = ready;
  metrics_.set("keten_ready", {}, ready ? 1 : 0);
}

void Ops::frame_from(const std::string& partner, Millis now) { last_seen_[partner] = now; }

void Ops::commit_finished(std::chrono::steady_clock::duration took, bool ok) {
  store_writable_ = ok;
  metrics_.observe("keten_store_commit_seconds", {{"result", ok ? "ok" : "failed"}},
                   std::chrono::duration<double>(took).count());
}

void Ops::observe(store::Store& store) {
  // The events the store just committed, counted as they were appended (typed: nothing is
  // rendered or parsed here); only a gap (events this connection did not append, or appended
  // before the metrics started) is read back from the file.
  for (const auto& event : store.take_committed_events()) {
    if (event.seq <= observed_seq_) continue;
    if (event.seq != observed_seq_ + 1) read_back(store, event.seq - 1);
    if (event.seq != observed_seq_ + 1) break;  // the gap could not be read: the file has the rest
    observe_event(event);
    observed_seq_ = event.seq;
  }
  read_back(store, store.log_head().seq);
}

void Ops::note_case(const events::Event& e) {
  if (e.case_ref.empty()) return;
  if (e.kind() == events::Kind::kDeadLettered) dead_letter_cases_[e.recipient].insert(e.case_ref);
  if (e.kind() == events::Kind::kNormViolated) norm_violation_cases_[e.contract].insert(e.case_ref);
}

void Ops::find_oldest_cases(store::Store& store) {
  for (auto& [alert, at] : unwritten_) {
    if (alert.kind != AlertKind::kOldestUndelivered || !alert.cases.empty()) continue;
    const std::string& subject = alert.subject;  // a structured binding cannot be captured (clang 14)
    auto b = std::find_if(snapshot_.backlog.begin(), snapshot_.backlog.end(),
                          [&](const RecipientBacklog& r) { return r.recipient == subject; });
    if (b == snapshot_.backlog.end() || b->oldest_accepted_at == 0) continue;
    // Once per firing: an undelivered message to the recipient accepted in that millisecond.
    auto found = store.undelivered_case_at(alert.subject, b->oldest_accepted_at);
    if (!found) {
      log().warn("alert case not found kind={} subject={} detail={}", to_string(alert.kind), alert.subject,
                 found.error().detail);
      continue;
    }
    if (*found) alert.cases.push_back(std::move(**found));
  }
}

void Ops::read_back(store::Store& store, std::uint64_t up_to) {
  while (up_to > observed_seq_) {
    auto page = store.read_events(observed_seq_ + 1, std::min<std::uint64_t>(kLogPage, up_to - observed_seq_));
    if (!page) {
      log().warn("metrics could not read the handover log detail={}", page.error().detail);
      return;
    }
    if (page->empty()) return;
    for (const auto& event : *page) observe_event(event);
    observed_seq_ = page->back().seq;
  }
}

void Ops::refresh_gauges(store::Store& store, const LoopView& view, Millis now) {
  last_refresh_ = now;
  if (stream_) metrics_.set("keten_event_stream_subscribers", {}, static_cast<double>(stream_->subscribers()));
  if (auto backlog = read_backlog(store, view); backlog) {
    snapshot_.backlog.clear();
    metrics_.clear("keten_backlog");
    metrics_.clear("keten_oldest_undelivered_age_seconds");
    for (const auto& p : context_.partners) {
      metrics_.set("keten_backlog", {{"recipient", p}}, 0);
      metrics_.set("keten_oldest_undelivered_age_seconds", {{"recipient", p}}, 0);
    }
    for (const auto& b : *backlog) {
      std::int64_t age = std::max<Millis>(0, now - b.oldest_accepted_at);
      snapshot_.backlog.push_back({b.recipient, b.undelivered, age, b.oldest_accepted_at});
      metrics_.set("keten_backlog", {{"recipient", b.recipient}}, double(b.undelivered));
      metrics_.set("keten_oldest_undelivered_age_seconds", {{"recipient", b.recipient}}, double(age) / 1000.0);
    }
  } else {
    log().warn("metrics could not read the backlog detail={}", backlog.error().detail);
  }

  std::size_t connected = 0;
  snapshot_.partner_silent_ms.clear();
  for (const auto& p : context_.partners) {
    auto seen = last_seen_.find(p);
    bool live = seen != last_seen_.end() && now - seen->second < context_.session_timeout.count();
    connected += live ? 1 : 0;
    Millis silent = now - (seen != last_seen_.end() ? seen->second : started_at_);
    snapshot_.partner_silent_ms[p] = silent;
    metrics_.set("keten_partner_connected", {{"partner", p}}, live ? 1 : 0);
    metrics_.set("keten_partner_last_seen_age_seconds", {{"partner", p}}, double(silent) / 1000.0);
  }
  metrics_.set("keten_connected_partners", {}, double(connected));
  metrics_.set("keten_sessions", {}, double(view.sessions));

  if (const auto& path = context_.store_path; !path.empty()) {  // empty: a PostgreSQL store, sized by its server
    snapshot_.store_bytes = file_bytes(path) + file_bytes(path.string() + "-wal");
    snapshot_.store_max_bytes = context_.options.alerts.store_max_bytes;
    if (snapshot_.store_max_bytes == 0) {
      std::error_code ec;
      auto space = std::filesystem::space(path.parent_path().empty() ? "." : path.parent_path(), ec);
      if (!ec) snapshot_.store_max_bytes = snapshot_.store_bytes + static_cast<std::uint64_t>(space.available);
    }
    metrics_.set("keten_store_size_bytes", {}, double(snapshot_.store_bytes));
    metrics_.set("keten_store_max_bytes", {}, double(snapshot_.store_max_bytes));
  }

  if (context_.signing) {
    snapshot_.since_checkpoint_ms = now - view.last_checkpoint_at;
    auto overdue = context_.options.alerts.checkpoint_overdue_after;
    snapshot_.checkpoint_overdue_ms = overdue.count() > 0 ? overdue.count() : 3 * context_.checkpoint_interval.count();
    metrics_.set("keten_checkpoint_age_seconds", {}, double(*snapshot_.since_checkpoint_ms) / 1000.0);
  }
  metrics_.set("keten_handover_log_seq", {}, double(store.log_head().seq));
}

void Ops::check_alerts(Millis now) {
  last_check_ = now;
  snapshot_.dead_letters = std::exchange(tally_.dead_letters, {});
  snapshot_.norm_violations = std::exchange(tally_.norm_violations, {});  // undone_sends stays
  snapshot_.dead_letter_cases = std::move(dead_letter_cases_);
  snapshot_.norm_violation_cases = std::move(norm_violation_cases_);
  dead_letter_cases_.clear();
  norm_violation_cases_.clear();
  AlertChanges changes = alerts_.evaluate(snapshot_, context_.options.alerts);
  for (const auto& a : changes.fired) {
    log().warn("alert kind={} subject={} value={} threshold={}", to_string(a.kind), a.subject,
               format_value(a.value), format_value(a.threshold));
    unwritten_.emplace_back(a, now);
  }
  for (const auto& a : changes.cleared) {
    log().info("alert cleared kind={} subject={}", to_string(a.kind), a.subject);
  }
  metrics_.set("keten_alerts_active", {}, double(alerts_.active_count()));
}

void Ops::append_alerts(store::Store& store) {
  if (unwritten_.empty()) return;
  auto not_written = [this](const std::string& detail) {
    if (auto held = write_errors_.admit(detail)) {
      log().warn("alert events not written, retrying detail={}{}", detail, contracts::suppressed_field(*held));
    }
  };
  auto transaction = store::Transaction::begin(store);
  if (!transaction) {
    store_writable_ = false;
    not_written(transaction.error().detail);
    return;
  }
  for (const auto& [alert, at] : unwritten_) {
    if (auto r = store.append_event(alert_event(alert, at)); !r) {
      not_written(r.error().detail);
      return;  // the transaction rolls back
    }
  }
  if (auto r = transaction->commit(); !r) {
    store_writable_ = false;
    not_written(r.error().detail);
    return;
  }
  store_writable_ = true;
  write_errors_.clear();
  unwritten_.clear();
}

void Ops::tick(store::Store& store, const LoopView& view, Millis now) {
  // Real time, not the loop's `now` (broker/core/clock.h: a test's clock may stand still or jump):
  // /healthz compares it with the system clock on the HTTP thread to tell a loop that stalled.
  last_turn_ = contracts::now_millis();
  observe(store);  // the check below sees every committed row
  const auto& alerts = context_.options.alerts;
  bool check_due = alerts.enabled && now - last_check_ >= alerts.check_interval.count();
  // A check sees the state of now, not of up to a second ago.
  if (check_due || now - last_refresh_ >= kRefreshEvery) refresh_gauges(store, view, now);
  if (check_due) {
    check_alerts(now);
    find_oldest_cases(store);
  }
  append_alerts(store);
  observe(store);  // counts the alert rows just written
}

}  // namespace broker::ops
