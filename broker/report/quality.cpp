#include "broker/report/quality.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "broker/audit/log_events.h"

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
  return kind == "follow_up" || kind == "confirmed_within" || kind == "follow_up_at";
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

QualityReport compute_quality(const ReportInput& input, const ReportQuery& query) {
  QualityReport report;
  report.query = query;
  report.contracts_known = !input.contracts.empty();

  std::map<std::pair<std::string, std::uint32_t>, const ContractInfo*> infos;
  std::map<std::string, const ContractInfo*> latest_info;  // newest version per name
  for (const auto& c : input.contracts) {
    infos[{c.name, c.version}] = &c;
    auto& latest = latest_info[c.name];
    if (!latest || latest->version < c.version) latest = &c;
  }

  // Every accepted message in the whole log: disputes and latencies may refer to messages
  // accepted before the period.
  std::map<std::string, Accepted> accepted;
  for (const auto& [seq, r] : input.events) {
    const auto* d = std::get_if<events::Accepted>(&r.record);
    if (!d) continue;
    accepted.emplace(r.message_id, Accepted{r.at, r.sender, r.contract, r.version, d->occurred_at, d->recorded_at, d->recipients});
  }

  auto partner_ok = [&](const std::string& a, const std::string& b) {
    return query.partner.empty() || a == query.partner || b == query.partner;
  };

  std::map<std::pair<std::string, std::string>, RowWork> rows;
  auto row_for = [&](const std::string& producer, const std::string& contract) -> RowWork& {
    auto [it, fresh] = rows.try_emplace({producer, contract});
    if (fresh) {
      it->second.row.producer = producer;
      it->second.row.contract = contract;
      if (auto info = latest_info.find(contract); info != latest_info.end()) {
        it->second.row.has_norms = !info->second->norm_kinds.empty();
      }
    }
    return it->second;
  };
  std::map<std::string, Consumer> consumers;
  std::map<std::string, std::vector<Millis>> consumer_latencies;
  auto consumer_for = [&](const std::string& id) -> Consumer& {
    auto& c = consumers[id];
    c.consumer = id;
    return c;
  };
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<NormCount, std::vector<Millis>>> norms;
  std::map<std::pair<std::string, std::string>, DisputeCount> disputes;
  std::map<Millis, WeekWork> weeks;
  auto week_for = [&](Millis at) -> WeekWork& {
    auto [label, start] = iso_week(at);
    auto& w = weeks[start];
    w.week.label = label;
    w.week.start = start;
    return w;
  };
  struct Violation {
    std::string contract, norm, producer, message;
    bool follow_up = false;
    bool open = false;             // the last record says "state": "open"
    Millis at = 0;                 // first recorded
    std::optional<Millis> by_ms;   // from the last record
    std::string late_party, expected_contract;
    Millis due_at = 0, done_at = 0, last_at = 0;
  };
  std::map<std::string, Violation> violations;  // by obligation
  Millis first_seen = 0, last_seen = 0;
  auto seen = [&](Millis at) {
    if (first_seen == 0 || at < first_seen) first_seen = at;
    last_seen = std::max(last_seen, at);
  };

  for (const auto& [seq, r] : input.events) {
    if (!query.contains(r.at)) continue;
    const Kind e = r.kind();

    // Disputes are counted against the disputed message's producer and contract.
    if (e == Kind::kAccepted && r.contract == kDisputeContract) {
      const auto [disputed_id, reason] = dispute_fields(input, r.message_id);
      std::string owner, contract;
      if (auto it = accepted.find(disputed_id); !disputed_id.empty() && it != accepted.end()) {
        owner = it->second.sender;
        contract = it->second.contract;
      } else if (auto self = accepted.find(r.message_id); self != accepted.end() && !self->second.recipients.empty()) {
        owner = self->second.recipients.front();  // the contract asks to name the owner as recipient
      }
      const bool contract_ok = query.contract.empty() || query.contract == contract ||
                               query.contract == r.contract;
      if (contract_ok && partner_ok(owner, r.sender)) {
        auto& d = disputes[{owner, contract}];
        d.owner = owner;
        d.contract = contract;
        ++d.count;
        ++d.reasons[reason.empty() ? "(unknown)" : reason];
        if (query.contract.empty() || query.contract == contract) {
          if (!owner.empty()) ++row_for(owner, contract).row.disputes;
        }
        ++week_for(r.at).week.disputes;
        seen(r.at);
      }
    }

    // norm_violated: contract and producer from the row, else from the detail and the message.
    if (const auto facts = audit::norm_facts(r)) {
      const auto& d = *facts;
      std::string contract = !r.contract.empty() ? r.contract : d.contract;
      std::string producer = r.sender;
      if (producer.empty()) {
        if (auto it = accepted.find(r.message_id); it != accepted.end()) producer = it->second.sender;
      }
      if (!query.contract.empty() && contract != query.contract) continue;
      if (!partner_ok(producer, r.recipient.empty() ? d.recipient : r.recipient)) continue;
      const std::string& norm = d.norm;
      std::string kind = d.kind;
      if (kind.empty()) {
        auto it = accepted.find(r.message_id);
        const ContractInfo* info = nullptr;
        if (it != accepted.end()) {
          if (auto i = infos.find({it->second.contract, it->second.version}); i != infos.end()) info = i->second;
        }
        if (!info) {
          if (auto i = latest_info.find(contract); i != latest_info.end()) info = i->second;
        }
        if (info) {
          if (auto k = info->norm_kinds.find(norm); k != info->norm_kinds.end()) kind = k->second;
        }
      }
      const bool follow_up = is_follow_up_kind(kind) || !d.expected_contract.empty();
      // One obligation (message, norm, recipient or expected contract) counts once, even when the
      // broker records it first while open and again when it is met late; the last by_ms wins.
      const std::string obligation = d.key.empty()
                                         ? (r.message_id.empty() ? "seq:" + std::to_string(seq) : r.message_id) +
                                               "\n" + norm + "\n" + r.recipient + "\n" + d.recipient +
                                               "\n" + d.expected_contract
                                         : d.key;
      auto [it, fresh] = violations.try_emplace(obligation);
      auto& v = it->second;
      if (fresh) {
        v.contract = contract;
        v.norm = norm;
        v.producer = producer;
        v.message = r.message_id.empty() ? "seq:" + std::to_string(seq) : r.message_id;
        v.follow_up = follow_up;
        v.at = r.at;
      }
      if (d.by_ms) v.by_ms = *d.by_ms;
      v.open = d.open;
      // Who was late: the event says so (late_party); older ones by the recipient column.
      v.late_party = d.late_party.empty() ? r.recipient : d.late_party;
      v.expected_contract = d.expected_contract;
      v.due_at = d.due_at;
      v.done_at = d.done_at;
      v.last_at = r.at;
      if (!d.corrects.empty()) v.message = d.corrects;
      seen(r.at);
      continue;
    }

    if (!query.contract.empty() && r.contract != query.contract) continue;

    if (e == Kind::kAccepted || e == Kind::kRejected || e == Kind::kDuplicate) {
      if (!partner_ok(r.sender, r.sender)) continue;
      auto& w = row_for(r.sender, r.contract);
      auto& wk = week_for(r.at).week;
      auto& producer_week = wk.producers[r.sender];
      ++w.row.submitted;
      ++wk.submitted;
      ++producer_week.first;
      seen(r.at);
      if (e == Kind::kDuplicate) {
        ++w.row.duplicates;
        ++wk.duplicates;
      } else if (const auto* rejected = std::get_if<events::Rejected>(&r.record)) {
        ++w.row.rejected;
        ++wk.rejected;
        ++producer_week.second;
        bool lacks_required = false;
        std::set<std::pair<std::string, std::string>> once;  // a reason counts once per submission
        {
          for (const auto& err : rejected->errors) {
            const std::string& pointer = err.pointer;
            const std::string& keyword = err.code;
            if (!once.insert({pointer, keyword}).second) continue;
            ++w.reasons[{pointer, keyword}];
            if (keyword == "required") {
              lacks_required = true;
              // Counted for conditional fields only: a plain required field is not in the table.
              const auto f = top_level(pointer);
              const auto info = latest_info.find(r.contract);
              if (!f.empty() && info != latest_info.end()) {
                const auto& c = info->second->conditional_fields;
                if (std::find(c.begin(), c.end(), f) != c.end()) {
                  auto& field = w.fields[f];
                  field.conditional = true;
                  ++field.missing_when_required;
                }
              }
            }
          }
        }
        if (once.empty()) ++w.reasons[{"", rejection_code(*rejected)}];
        w.row.lacking_required += lacks_required;
      } else {
        ++w.row.accepted;
        ++wk.accepted;
        const auto& a = accepted.at(r.message_id);
        if (a.occurred_at != 0 && a.recorded_at != 0) w.source_delays.push_back(a.recorded_at - a.occurred_at);
        if (a.recorded_at != 0) w.submit_delays.push_back(r.at - a.recorded_at);
        // Completeness: which optional and conditional top-level fields the payload holds.
        auto info = infos.find({r.contract, r.version});
        auto payload = input.payloads.find(r.message_id);
        if (payload == input.payloads.end() && input.sealed_unread.count(r.message_id)) ++w.row.payloads_not_read;
        if (info != infos.end() && payload != input.payloads.end()) {
          const json p = json::parse(payload->second, nullptr, false);
          if (p.is_object()) {
            auto count = [&](const std::string& pointer, bool conditional) {
              auto& f = w.fields[pointer];
              f.conditional = f.conditional || conditional;
              ++f.of;
              f.present += p.contains(unescape_token(pointer.substr(1)));
            };
            for (const auto& f : info->second->optional_fields) count(f, false);
            for (const auto& f : info->second->conditional_fields) count(f, true);
          }
        }
      }
      continue;
    }

    const bool delivery_event = e == Kind::kRouted || e == Kind::kDelivered || e == Kind::kRedelivered ||
                                e == Kind::kAcknowledged || e == Kind::kNacked || e == Kind::kDeadLettered;
    if (!delivery_event || !partner_ok(r.sender, r.recipient)) continue;
    auto& c = consumer_for(r.recipient);
    seen(r.at);
    if (e == Kind::kRouted) {
      ++c.routed;
    } else if (e == Kind::kDelivered) {
      ++c.delivered;
    } else if (e == Kind::kNacked) {
      ++c.nacked;
    } else if (e == Kind::kRedelivered) {
      ++c.redeliveries;
      ++row_for(r.sender, r.contract).row.redeliveries;
      ++week_for(r.at).week.redeliveries;
    } else if (e == Kind::kDeadLettered) {
      ++c.dead_letters;
      ++row_for(r.sender, r.contract).row.dead_letters;
      ++week_for(r.at).week.dead_letters;
    } else if (e == Kind::kAcknowledged) {
      ++c.acknowledged;
      if (auto a = accepted.find(r.message_id); a != accepted.end()) {
        const Millis latency = r.at - a->second.at;
        consumer_latencies[r.recipient].push_back(latency);
        week_for(r.at).latencies.push_back(latency);
      }
    }
  }

  for (const auto& [key, v] : violations) {
    // Recorded open, then shown met in time by a payload time reported later: not a violation.
    if (!v.open && v.done_at != 0 && v.due_at != 0 && v.done_at <= v.due_at) continue;
    auto& w = row_for(v.producer, v.contract);
    w.row.has_norms = true;
    ++w.row.norm_violations;
    w.row.missing_follow_ups += v.follow_up;
    w.late_messages.insert(v.message);
    auto& [count, late] = norms[{v.contract, v.norm, v.producer}];
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

  // Reduce.
  std::vector<Millis> all_source, all_submit;
  auto& t = report.totals;
  std::map<std::pair<std::string, std::string>, std::int64_t> all_reasons;
  std::set<std::string> all_late;
  for (auto& [key, w] : rows) {
    std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> reasons(w.reasons.begin(), w.reasons.end());
    std::stable_sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < reasons.size() && i < kTopReasons; ++i) {
      w.row.top_reasons.push_back({reasons[i].first.first, reasons[i].first.second, reasons[i].second});
    }
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
  {
    std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> reasons(all_reasons.begin(), all_reasons.end());
    std::stable_sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < reasons.size() && i < kTopReasons; ++i) {
      t.top_reasons.push_back({reasons[i].first.first, reasons[i].first.second, reasons[i].second});
    }
  }
  t.source_delay = distribution(all_source);
  t.submit_delay = distribution(all_submit);
  t.late_messages = static_cast<std::int64_t>(all_late.size());

  for (auto& [id, c] : consumers) {
    c.latency = distribution(consumer_latencies[id]);
    report.consumers.push_back(c);
  }
  for (auto& [key, entry] : norms) {
    entry.first.late_by = distribution(entry.second);
    report.norms.push_back(entry.first);
  }
  for (auto& [key, d] : disputes) report.disputes.push_back(d);
  std::stable_sort(report.violations.begin(), report.violations.end(),
                   [](const ViolationLine& a, const ViolationLine& b) { return a.late_by > b.late_by; });

  report.period_from = query.from != 0 ? query.from : first_seen;
  report.period_to = query.to != 0 ? query.to : (last_seen == 0 ? 0 : last_seen + 1);
  // Every week the period touches, empty ones included, so trends show gaps.
  constexpr Millis kMaxTrendSpan = 530 * 7 * kDay;  // about ten years; beyond that no trend
  if (report.period_from > 0 && report.period_to > report.period_from &&
      report.period_to - report.period_from <= kMaxTrendSpan) {
    for (Millis at = iso_week(report.period_from).second; at < report.period_to; at += 7 * kDay) week_for(at);
  }
  for (auto& [start, w] : weeks) {
    w.week.latency = distribution(w.latencies);
    report.weeks.push_back(w.week);
  }
  return report;
}

}  // namespace broker::report
