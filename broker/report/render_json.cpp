#include <nlohmann/json.hpp>

#include "broker/report/render.h"
#include "contracts/time.h"

namespace broker::report {

namespace {

using nlohmann::json;

json dist(const Distribution& d) {
  if (d.count == 0) return {{"count", 0}, {"p50_ms", nullptr}, {"p95_ms", nullptr}, {"max_ms", nullptr}};
  return {{"count", d.count}, {"p50_ms", d.p50}, {"p95_ms", d.p95}, {"max_ms", d.max}};
}

json share(const std::optional<double>& s) { return s ? json(*s) : json(nullptr); }

json time_json(Millis at) { return at == 0 ? json(nullptr) : json(contracts::format_rfc3339(at)); }

json row_json(const ProducerContract& row) {
  json reasons = json::array();
  for (const auto& r : row.top_reasons) reasons.push_back({{"pointer", r.pointer}, {"keyword", r.keyword}, {"count", r.count}});
  json fields = json::array();
  for (const auto& f : row.fields) {
    fields.push_back({{"pointer", f.pointer}, {"conditional", f.conditional}, {"present", f.present}, {"of", f.of},
                      {"share", f.of ? json(static_cast<double>(f.present) / static_cast<double>(f.of)) : json(nullptr)},
                      {"missing_when_required", f.missing_when_required}});
  }
  json out{{"producer", row.producer},
          {"contract", row.contract},
          {"submitted", row.submitted},
          {"accepted", row.accepted},
          {"rejected", row.rejected},
          {"duplicates", row.duplicates},
          {"rejection_rate", row.rejection_rate()},
          {"top_rejection_reasons", reasons},
          {"lacking_required", row.lacking_required},
          {"completeness_share", share(row.completeness_share())},
          {"optional_fields_share", share(row.optional_fields_share())},
          {"payloads_not_read", row.payloads_not_read},
          {"fields", fields},
          {"source_delay", dist(row.source_delay)},
          {"submit_delay", dist(row.submit_delay)},
          {"redeliveries", row.redeliveries},
          {"dead_letters", row.dead_letters},
          {"norm_violations", row.norm_violations},
          {"missing_follow_ups", row.missing_follow_ups},
          {"late_messages", row.late_messages},
          {"timeliness_share", share(row.timeliness_share())},
          {"disputes", row.disputes}};
  // Only where retention shredded payloads, so reports of stores without it keep their form.
  if (row.payloads_shredded > 0) out["payloads_shredded"] = row.payloads_shredded;
  return out;
}

}  // namespace

std::string render_json(const QualityReport& r) {
  json out;
  out["period"] = {{"from", time_json(r.period_from)}, {"to", time_json(r.period_to)},
                   {"from_ms", r.period_from}, {"to_ms", r.period_to}};
  out["filter"] = {{"partner", r.query.partner.empty() ? json(nullptr) : json(r.query.partner)},
                   {"contract", r.query.contract.empty() ? json(nullptr) : json(r.query.contract)}};
  out["contracts_known"] = r.contracts_known;
  out["totals"] = row_json(r.totals);
  out["totals"].erase("producer");
  out["totals"].erase("contract");
  out["rows"] = json::array();
  for (const auto& row : r.rows) out["rows"].push_back(row_json(row));
  out["consumers"] = json::array();
  for (const auto& c : r.consumers) {
    out["consumers"].push_back({{"consumer", c.consumer}, {"routed", c.routed}, {"delivered", c.delivered},
                                {"acknowledged", c.acknowledged}, {"nacked", c.nacked},
                                {"redeliveries", c.redeliveries}, {"dead_letters", c.dead_letters},
                                {"latency", dist(c.latency)}, {"processed_done", c.processed_done},
                                {"processed_refused", c.processed_refused}, {"processing", dist(c.processing)}});
  }
  out["norm_violations"] = json::array();
  for (const auto& n : r.norms) {
    out["norm_violations"].push_back({{"contract", n.contract}, {"norm", n.norm}, {"producer", n.producer},
                                      {"violations", n.violations}, {"missing_follow_ups", n.missing_follow_ups},
                                      {"still_open", n.still_open}, {"late_by", dist(n.late_by)}});
  }
  out["violations"] = json::array();
  for (const auto& v : r.violations) {
    out["violations"].push_back({{"contract", v.contract}, {"norm", v.norm}, {"message_id", v.message_id},
                                 {"producer", v.producer}, {"late_party", v.late_party},
                                 {"expected_contract", v.expected_contract}, {"due_at", time_json(v.due_at)},
                                 {"done_at", time_json(v.done_at)}, {"state", v.open ? "open" : "met late"},
                                 {"late_by_ms", v.late_by}, {"recorded_at", time_json(v.recorded_at)}});
  }
  out["disputes"] = json::array();
  for (const auto& d : r.disputes) {
    out["disputes"].push_back({{"owner", d.owner}, {"contract", d.contract}, {"count", d.count}, {"reasons", d.reasons}});
  }
  out["weeks"] = json::array();
  for (const auto& w : r.weeks) {
    json producers = json::object();
    for (const auto& [p, n] : w.producers) producers[p] = {{"submitted", n.first}, {"rejected", n.second}};
    out["weeks"].push_back({{"week", w.label}, {"start", time_json(w.start)}, {"submitted", w.submitted},
                            {"accepted", w.accepted}, {"rejected", w.rejected}, {"duplicates", w.duplicates},
                            {"rejection_rate", w.rejection_rate()}, {"redeliveries", w.redeliveries},
                            {"dead_letters", w.dead_letters}, {"norm_violations", w.norm_violations},
                            {"disputes", w.disputes}, {"latency", dist(w.latency)}, {"producers", producers}});
  }
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace broker::report
