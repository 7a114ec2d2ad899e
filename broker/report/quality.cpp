#include "broker/report/quality.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "broker/audit/log_events.h"
#include "contracts/norms.h"

namespace broker::report {

namespace {

constexpr const char* kDisputeContract = "dataitem.dispute.raised";

using events::Kind;
using events::LoggedEvent;
using nlohmann::json;

constexpr std::size_t kTopReasons = 5;
constexpr Millis kDay = 86'400'000;

std::string str_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What the log says about one accepted message.
struct Accepted {
  Millis at = 0;
  std::string sender;
  std::string contract;
  std::uint32_t version = 0;
  Millis occurred_at = 0;
  Millis recorded_at = 0;
  std::vector<std::string> recipients;
};

// The rejection's error code as its row named it; "" when it named none.
std::string rejection_code(const events::Rejected& r) {
  return r.code == contracts::ErrorCode::kNone ? std::string() : std::string(contracts::to_string(r.code));
}

bool is_follow_up_kind(const std::string& kind) {
  using contracts::NormKind;
  return kind == contracts::to_string(NormKind::kFollowUp) || kind == contracts::to_string(NormKind::kConfirmedWithin) ||
         kind == contracts::to_string(NormKind::kFollowUpAt);
}

// Per producer and contract, while counting: samples and reason tallies not yet reduced.
struct RowWork {
  ProducerContract row;
  std::vector<Millis> source_delays, submit_delays;
  std::map<std::pair<std::string, std::string>, std::int64_t> reasons;
  std::map<std::string, FieldPresence> fields;
  std::set<std::string> late_messages;
};

struct WeekWork {
  Week week;
  std::vector<Millis> latencies;
};

// Top-level property name of a pointer ("/a/b" -> "/a"); "" for a header.* or empty pointer.
std::string top_level(const std::string& pointer) {
  if (pointer.size() < 2 || pointer[0] != '/') return "";
  const auto slash = pointer.find('/', 1);
  return slash == std::string::npos ? pointer : pointer.substr(0, slash);
}

// Unescapes one JSON Pointer token (~1 -> /, ~0 -> ~).
std::string unescape_token(const std::string& token) {
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

// A dispute's payload fields the report uses; empty when its payload is not at hand or not an object.
struct DisputeFields {
  std::string disputed_id;
  std::string reason;
};
DisputeFields dispute_fields(const ReportInput& input, const std::string& message_id) {
  DisputeFields f;
  if (auto p = input.payloads.find(message_id); p != input.payloads.end()) {
    const json payload = json::parse(p->second, nullptr, false);
    if (payload.is_object()) {
      f.disputed_id = str_at(payload, "disputed_message_id");
      f.reason = str_at(payload, "reason");
    }
  }
  return f;
}

}  // namespace

Distribution distribution(std::vector<Millis> samples) {
  Distribution d;
  if (samples.empty()) return d;
  std::sort(samples.begin(), samples.end());
  const auto n = static_cast<std::int64_t>(samples.size());
  auto rank = [&](std::int64_t percent) {
    std::int64_t k = (percent * n + 99) / 100;  // ceil(p * n / 100), 1-based
    return samples[static_cast<std::size_t>(std::clamp<std::int64_t>(k, 1, n) - 1)];
  };
  d.count = n;
  d.p50 = rank(50);
  d.p95 = rank(95);
  d.max = samples.back();
  return d;
}

double ProducerContract::rejection_rate() const {
  return submitted == 0 ? 0.0 : static_cast<double>(rejected) / static_cast<double>(submitted);
}

std::optional<double> ProducerContract::timeliness_share() const {
  if (!has_norms || accepted == 0) return std::nullopt;
  const auto on_time = std::max<std::int64_t>(0, accepted - late_messages);
  return static_cast<double>(on_time) / static_cast<double>(accepted);
}

std::optional<double> ProducerContract::completeness_share() const {
  const auto decided = accepted + rejected;
  if (decided == 0) return std::nullopt;
  return static_cast<double>(decided - lacking_required) / static_cast<double>(decided);
}

std::optional<double> ProducerContract::optional_fields_share() const {
  double sum = 0;
  int n = 0;
  for (const auto& f : fields) {
    if (f.conditional || f.of == 0) continue;
    sum += static_cast<double>(f.present) / static_cast<double>(f.of);
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

double Week::rejection_rate() const {
  return submitted == 0 ? 0.0 : static_cast<double>(rejected) / static_cast<double>(submitted);
}

std::pair<std::string, Millis> iso_week(Millis at) {
  // Days since 1970-01-01 (a Thursday), floored for times before the epoch.
  const std::int64_t days = at >= 0 ? at / kDay : -((-at + kDay - 1) / kDay);
  const std::int64_t weekday = ((days % 7) + 7 + 3) % 7;  // 0 = Monday
  const std::int64_t monday = days - weekday;
  const std::int64_t thursday = monday + 3;
  // Civil date of the Thursday (H. Hinnant's days_from_civil inverse): its year is the ISO year.
  std::int64_t z = thursday + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // Day of the year of the Thursday: days since Jan 1 of `year`.
  auto days_from_civil = [](std::int64_t y, std::int64_t m, std::int64_t d) {
    y -= m <= 2;
    const std::int64_t e = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yo = y - e * 400;
    const std::int64_t dy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const std::int64_t de = yo * 365 + yo / 4 - yo / 100 + dy;
    return e * 146097 + de - 719468;
  };
  const std::int64_t week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
  std::string label = std::to_string(year) + "-W" + (week < 10 ? "0" : "") + std::to_string(week);
  return {label, monday * kDay};
}

std::set<std::string> messages_referenced(const ReportInput& input, const ReportQuery& query) {
  std::set<std::string> ids;
  for (const auto& [seq, r] : input.events) {
    if (!query.contains(r.at)) continue;
    if (!r.message_id.empty()) ids.insert(r.message_id);
    if (r.kind() != Kind::kAccepted || r.contract != kDisputeContract) continue;
    if (auto disputed = dispute_fields(input, r.message_id).disputed_id; !disputed.empty()) ids.insert(disputed);
  }
  return ids;
}

namespace {

// One missed obligation while counting: its first and last records.
struct Violation {
  std::string contract, norm, producer, message;
  bool follow_up = false;
  bool open = false;             // the last record says it was open
  Millis at = 0;                 // first recorded
  std::optional<Millis> by_ms;   // from the last record
  std::string late_party, expected_contract;
  Millis due_at = 0, done_at = 0, last_at = 0;
};

// The five most frequent reasons, most frequent first (ties in key order).
std::vector<ReasonCount> top_reasons(const std::map<std::pair<std::string, std::string>, std::int64_t>& tally) {
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> reasons(tally.begin(), tally.end());
  std::stable_sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<ReasonCount> out;
  for (std::size_t i = 0; i < reasons.size() && i < kTopReasons; ++i) {
    out.push_back({reasons[i].first.first, reasons[i].first.second, reasons[i].second});
  }
  return out;
}

// compute_quality in steps: the constructor indexes the contracts and every accepted message,
// count() takes the period's events one by one, finish() turns the tallies into the report.
class QualityCounter {
 public:
  QualityCounter(const ReportInput& input, const ReportQuery& query) : input_(input), query_(query) {
    index_contracts();
    index_acceptances();
  }

  // One event of the period.
  void count(std::uint64_t seq, const events::Event& e) {
    if (e.kind() == Kind::kAccepted && e.contract == kDisputeContract) count_dispute(e);
    if (const auto facts = audit::norm_facts(e)) return record_violation(seq, e, *facts);
    if (!query_.contract.empty() && e.contract != query_.contract) return;
    switch (e.kind()) {
      case Kind::kAccepted:
      case Kind::kRejected:
      case Kind::kDuplicate: return count_submission(e);
      case Kind::kRouted:
      case Kind::kDelivered:
      case Kind::kRedelivered:
      case Kind::kAcknowledged:
      case Kind::kNacked:
      case Kind::kDeadLettered:
      case Kind::kUndelivered:
      case Kind::kProcessed: return count_delivery(e);
      default: return;
    }
  }

  QualityReport finish() {
    QualityReport report;
    report.query = query_;
    report.contracts_known = !input_.contracts.empty();
    count_violations(report);
    reduce_rows(report);
    reduce_consumers(report);
    reduce_norms(report);
    for (auto& [key, d] : disputes_) report.disputes.push_back(d);
    std::stable_sort(report.violations.begin(), report.violations.end(),
                     [](const ViolationLine& a, const ViolationLine& b) { return a.late_by > b.late_by; });
    fill_weeks(report);
    return report;
  }

 private:
  void index_contracts() {
    for (const auto& c : input_.contracts) {
      infos_[{c.name, c.version}] = &c;
      auto& latest = latest_info_[c.name];
      if (!latest || latest->version < c.version) latest = &c;
    }
  }

  // Every accepted message in the whole input: disputes and latencies may refer to messages
  // accepted before the period.
  void index_acceptances() {
    for (const auto& [seq, e] : input_.events) {
      const auto* d = std::get_if<events::Accepted>(&e.record);
      if (!d) continue;
      accepted_.emplace(e.message_id, Accepted{e.at, e.sender, e.contract, e.version, d->occurred_at, d->recorded_at, d->recipients});
    }
  }

  bool partner_ok(const std::string& a, const std::string& b) const {
    return query_.partner.empty() || a == query_.partner || b == query_.partner;
  }

  RowWork& row_for(const std::string& producer, const std::string& contract) {
    auto [it, fresh] = rows_.try_emplace({producer, contract});
    if (fresh) {
      it->second.row.producer = producer;
      it->second.row.contract = contract;
      if (auto info = latest_info_.find(contract); info != latest_info_.end()) {
        it->second.row.has_norms = !info->second->norm_kinds.empty();
      }
    }
    return it->second;
  }

  Consumer& consumer_for(const std::string& id) {
    auto& c = consumers_[id];
    c.consumer = id;
    return c;
  }

  WeekWork& week_for(Millis at) {
    auto [label, start] = iso_week(at);
    auto& w = weeks_[start];
    w.week.label = label;
    w.week.start = start;
    return w;
  }

  void seen(Millis at) {
    if (first_seen_ == 0 || at < first_seen_) first_seen_ = at;
    last_seen_ = std::max(last_seen_, at);
  }

  // Disputes count against the disputed message's producer and contract.
  void count_dispute(const events::Event& e) {
    const auto [disputed_id, reason] = dispute_fields(input_, e.message_id);
    std::string owner, contract;
    if (auto it = accepted_.find(disputed_id); !disputed_id.empty() && it != accepted_.end()) {
      owner = it->second.sender;
      contract = it->second.contract;
    } else if (auto self = accepted_.find(e.message_id); self != accepted_.end() && !self->second.recipients.empty()) {
      owner = self->second.recipients.front();  // the contract asks to name the owner as recipient
    }
    const bool contract_ok = query_.contract.empty() || query_.contract == contract || query_.contract == e.contract;
    if (!contract_ok || !partner_ok(owner, e.sender)) return;
    auto& d = disputes_[{owner, contract}];
    d.owner = owner;
    d.contract = contract;
    ++d.count;
    ++d.reasons[reason.empty() ? "(unknown)" : reason];
    if ((query_.contract.empty() || query_.contract == contract) && !owner.empty()) ++row_for(owner, contract).row.disputes;
    ++week_for(e.at).week.disputes;
    seen(e.at);
  }

  // The norm's kind: as the event names it, else as the message's contract version declares it.
  std::string norm_kind(const events::Event& e, const std::string& contract, const audit::NormFacts& f) const {
    if (!f.kind.empty()) return f.kind;
    const ContractInfo* info = nullptr;
    if (auto it = accepted_.find(e.message_id); it != accepted_.end()) {
      if (auto i = infos_.find({it->second.contract, it->second.version}); i != infos_.end()) info = i->second;
    }
    if (!info) {
      if (auto i = latest_info_.find(contract); i != latest_info_.end()) info = i->second;
    }
    if (info) {
      if (auto k = info->norm_kinds.find(f.norm); k != info->norm_kinds.end()) return k->second;
    }
    return "";
  }

  // norm_violated: contract and producer from the event, else from its detail and the message.
  // One obligation (message, norm, recipient or expected contract) counts once, even when the
  // broker records it first while open and again when it is met late; the last record wins.
  void record_violation(std::uint64_t seq, const events::Event& e, const audit::NormFacts& f) {
    const std::string contract = !e.contract.empty() ? e.contract : f.contract;
    std::string producer = e.sender;
    if (producer.empty()) {
      if (auto it = accepted_.find(e.message_id); it != accepted_.end()) producer = it->second.sender;
    }
    if (!query_.contract.empty() && contract != query_.contract) return;
    if (!partner_ok(producer, e.recipient.empty() ? f.recipient : e.recipient)) return;
    const std::string message = e.message_id.empty() ? "seq:" + std::to_string(seq) : e.message_id;
    const std::string obligation =
        f.key.empty() ? message + "\n" + f.norm + "\n" + e.recipient + "\n" + f.recipient + "\n" + f.expected_contract
                      : f.key;
    auto [it, fresh] = violations_.try_emplace(obligation);
    auto& v = it->second;
    if (fresh) {
      v.contract = contract;
      v.norm = f.norm;
      v.producer = producer;
      v.message = message;
      v.follow_up = is_follow_up_kind(norm_kind(e, contract, f)) || !f.expected_contract.empty();
      v.at = e.at;
    }
    if (f.by_ms) v.by_ms = *f.by_ms;
    v.open = f.open;
    // Who was late: the event says so (late_party); older ones by the recipient column.
    v.late_party = f.late_party.empty() ? e.recipient : f.late_party;
    v.expected_contract = f.expected_contract;
    v.due_at = f.due_at;
    v.done_at = f.done_at;
    v.last_at = e.at;
    if (!f.corrects.empty()) v.message = f.corrects;
    seen(e.at);
  }

  // accepted, rejected, duplicate: per producer and contract, and per week.
  void count_submission(const events::Event& e) {
    if (!partner_ok(e.sender, e.sender)) return;
    auto& w = row_for(e.sender, e.contract);
    auto& wk = week_for(e.at).week;
    auto& producer_week = wk.producers[e.sender];
    ++w.row.submitted;
    ++wk.submitted;
    ++producer_week.first;
    seen(e.at);
    if (e.kind() == Kind::kDuplicate) {
      ++w.row.duplicates;
      ++wk.duplicates;
    } else if (const auto* rejected = std::get_if<events::Rejected>(&e.record)) {
      ++w.row.rejected;
      ++wk.rejected;
      ++producer_week.second;
      count_rejection(w, e, *rejected);
    } else {
      ++w.row.accepted;
      ++wk.accepted;
      const auto& a = accepted_.at(e.message_id);
      if (a.occurred_at != 0 && a.recorded_at != 0) w.source_delays.push_back(a.recorded_at - a.occurred_at);
      if (a.recorded_at != 0) w.submit_delays.push_back(e.at - a.recorded_at);
      count_completeness(w, e);
    }
  }

  // Each (pointer, keyword) once per submission; `required` at a conditional field counts there.
  void count_rejection(RowWork& w, const events::Event& e, const events::Rejected& rejected) {
    bool lacks_required = false;
    std::set<std::pair<std::string, std::string>> once;
    for (const auto& err : rejected.errors) {
      if (!once.insert({err.pointer, err.code}).second) continue;
      ++w.reasons[{err.pointer, err.code}];
      if (err.code != "required") continue;
      lacks_required = true;
      // Counted for conditional fields only: a plain required field is not in the table.
      const auto f = top_level(err.pointer);
      const auto info = latest_info_.find(e.contract);
      if (f.empty() || info == latest_info_.end()) continue;
      const auto& c = info->second->conditional_fields;
      if (std::find(c.begin(), c.end(), f) != c.end()) {
        auto& field = w.fields[f];
        field.conditional = true;
        ++field.missing_when_required;
      }
    }
    if (once.empty()) ++w.reasons[{"", rejection_code(rejected)}];
    w.row.lacking_required += lacks_required;
  }

  // Which optional and conditional top-level fields an accepted message's payload holds.
  void count_completeness(RowWork& w, const events::Event& e) {
    auto info = infos_.find({e.contract, e.version});
    auto payload = input_.payloads.find(e.message_id);
    if (payload == input_.payloads.end() && input_.sealed_unread.count(e.message_id)) ++w.row.payloads_not_read;
    if (payload == input_.payloads.end() && input_.shredded.count(e.message_id)) ++w.row.payloads_shredded;
    if (info == infos_.end() || payload == input_.payloads.end()) return;
    const json p = json::parse(payload->second, nullptr, false);
    if (!p.is_object()) return;
    auto count = [&](const std::string& pointer, bool conditional) {
      auto& f = w.fields[pointer];
      f.conditional = f.conditional || conditional;
      ++f.of;
      f.present += p.contains(unescape_token(pointer.substr(1)));
    };
    for (const auto& f : info->second->optional_fields) count(f, false);
    for (const auto& f : info->second->conditional_fields) count(f, true);
  }

  // routed, delivered, redelivered, acknowledged, nacked, dead_lettered, processed: per consumer;
  // the redeliveries and dead letters also per producer and week, the acknowledgement latency per
  // week. A processed event carries its acknowledgement's time: the processing time needs no other.
  // undelivered: the send logged just before never left the broker, so it is taken back.
  void count_delivery(const events::Event& e) {
    if (!partner_ok(e.sender, e.recipient)) return;
    auto& c = consumer_for(e.recipient);
    seen(e.at);
    switch (e.kind()) {
      case Kind::kRouted: ++c.routed; break;
      case Kind::kDelivered:
        ++c.delivered;
        last_send_[e.delivery_id] = {Kind::kDelivered, e.at};
        break;
      case Kind::kNacked: ++c.nacked; break;
      case Kind::kRedelivered:
        ++c.redeliveries;
        ++row_for(e.sender, e.contract).row.redeliveries;
        ++week_for(e.at).week.redeliveries;
        last_send_[e.delivery_id] = {Kind::kRedelivered, e.at};
        break;
      case Kind::kUndelivered: take_back_send(c, e); break;
      case Kind::kDeadLettered:
        ++c.dead_letters;
        ++row_for(e.sender, e.contract).row.dead_letters;
        ++week_for(e.at).week.dead_letters;
        break;
      case Kind::kAcknowledged:
        ++c.acknowledged;
        if (auto a = accepted_.find(e.message_id); a != accepted_.end()) {
          const Millis latency = e.at - a->second.at;
          consumer_latencies_[e.recipient].push_back(latency);
          week_for(e.at).latencies.push_back(latency);
        }
        break;
      case Kind::kProcessed: {
        const auto& p = std::get<events::Processed>(e.record);
        ++(p.outcome == contracts::ProcessedOutcome::kRefused ? c.processed_refused : c.processed_done);
        if (p.acknowledged_at != 0 && e.at >= p.acknowledged_at) {
          consumer_processing_[e.recipient].push_back(e.at - p.acknowledged_at);
        }
        break;
      }
      default: break;
    }
  }

  // An undelivered event: the delivery's last send counted in the period did not happen.
  void take_back_send(Consumer& c, const events::Event& e) {
    auto send = last_send_.find(e.delivery_id);
    if (send == last_send_.end()) return;
    const auto [kind, sent_at] = send->second;
    last_send_.erase(send);
    if (kind == Kind::kDelivered) {
      --c.delivered;
      return;
    }
    --c.redeliveries;
    --row_for(e.sender, e.contract).row.redeliveries;
    --week_for(sent_at).week.redeliveries;
  }

  // Each obligation once, as last recorded; one recorded open and then shown met in time by a
  // payload time reported later is not a violation.
  void count_violations(QualityReport& report) {
    for (const auto& [key, v] : violations_) {
      if (!v.open && v.done_at != 0 && v.due_at != 0 && v.done_at <= v.due_at) continue;
      auto& w = row_for(v.producer, v.contract);
      w.row.has_norms = true;
      ++w.row.norm_violations;
      w.row.missing_follow_ups += v.follow_up;
      w.late_messages.insert(v.message);
      auto& [count, late] = norms_[{v.contract, v.norm, v.producer}];
      count.contract = v.contract;
      count.norm = v.norm;
      count.producer = v.producer;
      ++count.violations;
      count.missing_follow_ups += v.follow_up;
      count.still_open += v.open;
      if (v.by_ms) late.push_back(*v.by_ms);
      ++week_for(v.at).week.norm_violations;
      report.violations.push_back({v.contract, v.norm, v.message, v.producer, v.late_party, v.expected_contract,
                                   v.due_at, v.done_at, v.by_ms.value_or(0), v.last_at, v.open});
    }
  }

  // Each producer and contract's samples and tallies reduced, and summed into the totals.
  void reduce_rows(QualityReport& report) {
    std::vector<Millis> all_source, all_submit;
    auto& t = report.totals;
    std::map<std::pair<std::string, std::string>, std::int64_t> all_reasons;
    std::set<std::string> all_late;
    for (auto& [key, w] : rows_) {
      w.row.top_reasons = top_reasons(w.reasons);
      for (const auto& [pointer, reason] : w.reasons) all_reasons[pointer] += reason;
      for (auto& [pointer, f] : w.fields) {
        f.pointer = pointer;
        w.row.fields.push_back(f);
      }
      w.row.source_delay = distribution(w.source_delays);
      w.row.submit_delay = distribution(w.submit_delays);
      w.row.late_messages = static_cast<std::int64_t>(w.late_messages.size());
      all_source.insert(all_source.end(), w.source_delays.begin(), w.source_delays.end());
      all_submit.insert(all_submit.end(), w.submit_delays.begin(), w.submit_delays.end());
      all_late.insert(w.late_messages.begin(), w.late_messages.end());
      t.submitted += w.row.submitted;
      t.accepted += w.row.accepted;
      t.rejected += w.row.rejected;
      t.duplicates += w.row.duplicates;
      t.lacking_required += w.row.lacking_required;
      t.redeliveries += w.row.redeliveries;
      t.dead_letters += w.row.dead_letters;
      t.norm_violations += w.row.norm_violations;
      t.missing_follow_ups += w.row.missing_follow_ups;
      t.disputes += w.row.disputes;
      t.has_norms = t.has_norms || w.row.has_norms;
      report.rows.push_back(std::move(w.row));
    }
    t.top_reasons = top_reasons(all_reasons);
    t.source_delay = distribution(all_source);
    t.submit_delay = distribution(all_submit);
    t.late_messages = static_cast<std::int64_t>(all_late.size());
  }

  void reduce_consumers(QualityReport& report) {
    for (auto& [id, c] : consumers_) {
      c.latency = distribution(consumer_latencies_[id]);
      c.processing = distribution(consumer_processing_[id]);
      report.consumers.push_back(c);
    }
  }

  void reduce_norms(QualityReport& report) {
    for (auto& [key, entry] : norms_) {
      entry.first.late_by = distribution(entry.second);
      report.norms.push_back(entry.first);
    }
  }

  // The period's bounds, and every week it touches, empty ones included, so trends show gaps.
  void fill_weeks(QualityReport& report) {
    report.period_from = query_.from != 0 ? query_.from : first_seen_;
    report.period_to = query_.to != 0 ? query_.to : (last_seen_ == 0 ? 0 : last_seen_ + 1);
    constexpr Millis kMaxTrendSpan = 530 * 7 * kDay;  // about ten years; beyond that no trend
    if (report.period_from > 0 && report.period_to > report.period_from &&
        report.period_to - report.period_from <= kMaxTrendSpan) {
      for (Millis at = iso_week(report.period_from).second; at < report.period_to; at += 7 * kDay) week_for(at);
    }
    for (auto& [start, w] : weeks_) {
      w.week.latency = distribution(w.latencies);
      report.weeks.push_back(w.week);
    }
  }

  const ReportInput& input_;
  const ReportQuery& query_;
  std::map<std::pair<std::string, std::uint32_t>, const ContractInfo*> infos_;
  std::map<std::string, const ContractInfo*> latest_info_;  // newest version per name
  std::map<std::string, Accepted> accepted_;                // by message id
  std::map<std::pair<std::string, std::string>, RowWork> rows_;
  std::map<std::string, Consumer> consumers_;
  std::map<std::string, std::vector<Millis>> consumer_latencies_;
  std::map<std::string, std::vector<Millis>> consumer_processing_;  // processed.at - acknowledged_at
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<NormCount, std::vector<Millis>>> norms_;
  std::map<std::pair<std::string, std::string>, DisputeCount> disputes_;
  std::map<Millis, WeekWork> weeks_;
  std::map<std::string, Violation> violations_;  // by obligation
  std::map<std::int64_t, std::pair<Kind, Millis>> last_send_;  // by delivery id: its last send counted
  Millis first_seen_ = 0, last_seen_ = 0;
};

}  // namespace

QualityReport compute_quality(const ReportInput& input, const ReportQuery& query) {
  QualityCounter counter(input, query);
  for (const auto& [seq, e] : input.events) {
    if (query.contains(e.at)) counter.count(seq, e);
  }
  return counter.finish();
}

}  // namespace broker::report
