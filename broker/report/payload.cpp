#include "broker/report/payload.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

#include "contracts/time.h"

namespace broker::report {

namespace {

using nlohmann::json;

// Shares rounded to 4 decimals, so the payload reads well and compares stably.
double round4(double v) { return std::round(v * 10000.0) / 10000.0; }

// What the contract allows (dataquality.report.published v1): names of 1..128 bytes, pointers of at
// most 256 bytes that are JSON pointers or header.<field>, keywords of letters and '_'.
bool name_ok(const std::string& s) { return !s.empty() && s.size() <= 128; }

bool pointer_ok(const std::string& p) {
  static const std::regex shape(R"(^(/[^/]*)*$|^header\.[a-z_]+(\[[0-9]+\])?$)");
  return !p.empty() && p.size() <= 256 && std::regex_match(p, shape);
}

bool keyword_ok(const std::string& k) {
  static const std::regex shape("^[A-Za-z_]{1,64}$");
  return std::regex_match(k, shape);
}

std::string yyyymmdd(Millis at) {
  const std::string t = contracts::format_rfc3339(at);  // 2025-03-03T...
  return t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2);
}

}  // namespace

std::string default_report_id(const QualityReport& report) {
  const auto from = iso_week(report.period_from);
  const auto last = iso_week(report.period_to - 1);
  if (from.second == last.second) return "DQR-" + from.first;
  return "DQR-" + yyyymmdd(report.period_from) + "-" + yyyymmdd(report.period_to - 1);
}

std::string build_quality_payload(const QualityReport& report, const PayloadOptions& options) {
  json rows = json::array();
  for (const auto& r : report.rows) {
    if (!name_ok(r.contract) || !name_ok(r.producer)) continue;  // e.g. an undecodable frame
    json row{{"producer", r.producer},
             {"contract", r.contract},
             {"submitted", r.submitted},
             {"accepted", r.accepted},
             {"rejected", r.rejected},
             {"duplicates", r.duplicates},
             {"redeliveries", r.redeliveries},
             {"dead_letters", r.dead_letters},
             {"norm_violations", r.norm_violations},
             {"missing_follow_ups", r.missing_follow_ups},
             {"disputes", r.disputes},
             {"rejection_share", round4(r.rejection_rate())}};
    if (auto s = r.timeliness_share()) row["timeliness_share"] = round4(*s);
    if (auto s = r.completeness_share()) row["completeness_share"] = round4(*s);
    if (auto s = r.optional_fields_share()) row["optional_fields_share"] = round4(*s);
    if (r.source_delay.count) row["source_delay_p95_ms"] = std::max<Millis>(0, r.source_delay.p95);
    json reasons = json::array();
    for (const auto& reason : r.top_reasons) {
      if (!keyword_ok(reason.keyword)) continue;
      json entry{{"keyword", reason.keyword}, {"count", reason.count}};
      if (pointer_ok(reason.pointer)) entry["pointer"] = reason.pointer;
      reasons.push_back(entry);
    }
    if (!reasons.empty()) row["top_rejections"] = reasons;
    rows.push_back(row);
  }
  json consumers = json::array();
  for (const auto& c : report.consumers) {
    if (!name_ok(c.consumer)) continue;
    json entry{{"consumer", c.consumer}, {"acknowledged", c.acknowledged}, {"redeliveries", c.redeliveries},
               {"dead_letters", c.dead_letters}};
    if (c.latency.count) {
      entry["latency_p50_ms"] = std::max<Millis>(0, c.latency.p50);
      entry["latency_p95_ms"] = std::max<Millis>(0, c.latency.p95);
      entry["latency_max_ms"] = std::max<Millis>(0, c.latency.max);
    }
    consumers.push_back(entry);
  }
  json out{{"report_id", options.report_id},
           {"period_from", contracts::format_rfc3339(report.period_from)},
           {"period_to", contracts::format_rfc3339(report.period_to)},
           {"generated_at", contracts::format_rfc3339(options.generated_at)},
           {"rows", rows},
           {"consumers", consumers}};
  if (name_ok(report.query.partner)) out["partner_filter"] = report.query.partner;
  if (name_ok(report.query.contract)) out["contract_filter"] = report.query.contract;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace broker::report
