#include <sstream>

#include "broker/report/render.h"
#include "contracts/time.h"

namespace broker::report {

namespace {

std::string dist(const Distribution& d) {
  if (d.count == 0) return "no samples";
  return "p50 " + format_millis(d.p50) + ", p95 " + format_millis(d.p95) + ", max " + format_millis(d.max) +
         " (n=" + std::to_string(d.count) + ")";
}

std::string opt_share(const std::optional<double>& share, const char* none) {
  return share ? format_share(*share) : none;
}

}  // namespace

std::string render_text(const QualityReport& r) {
  std::ostringstream o;
  o << "Data-quality report\n";
  o << "period: " << (r.period_from ? contracts::format_rfc3339(r.period_from) : "-") << " up to "
    << (r.period_to ? contracts::format_rfc3339(r.period_to) : "-") << " (exclusive)\n";
  if (!r.query.partner.empty()) o << "partner: " << r.query.partner << "\n";
  if (!r.query.contract.empty()) o << "contract: " << r.query.contract << "\n";
  if (!r.contracts_known) o << "note: no contract set given (--contracts): completeness of optional fields not computed\n";
  const auto& t = r.totals;
  o << "\nTotals: submitted " << t.submitted << ", accepted " << t.accepted << ", rejected " << t.rejected << " ("
    << format_share(t.rejection_rate()) << "), duplicates " << t.duplicates << ", redeliveries " << t.redeliveries
    << ", dead letters " << t.dead_letters << ", norm violations " << t.norm_violations << " (missing follow-ups "
    << t.missing_follow_ups << "), disputes " << t.disputes << "\n";

  o << "\nPer producer and contract\n";
  if (r.rows.empty()) o << "  (nothing submitted in the period)\n";
  for (const auto& row : r.rows) {
    o << "\n" << row.producer << " / " << row.contract << "\n";
    o << "  submitted " << row.submitted << ", accepted " << row.accepted << ", rejected " << row.rejected << " ("
      << format_share(row.rejection_rate()) << "), duplicates " << row.duplicates << "\n";
    for (const auto& reason : row.top_reasons) {
      o << "  rejected for " << (reason.pointer.empty() ? "(no field)" : reason.pointer) << " " << reason.keyword
        << ": " << reason.count << "\n";
    }
    o << "  completeness (required fields present): " << opt_share(row.completeness_share(), "n/a")
      << "; optional fields present: " << opt_share(row.optional_fields_share(), "n/a") << "\n";
    if (row.payloads_not_read > 0) {
      o << "    " << row.payloads_not_read << " sealed payloads not read: their fields are not counted "
        << "(give the broker's payload key with --payload-key)\n";
    }
    if (row.payloads_shredded > 0) {
      o << "    " << row.payloads_shredded << " payloads shredded by retention: their fields are not counted\n";
    }
    for (const auto& f : row.fields) {
      o << "    " << f.pointer << (f.conditional ? " (conditional)" : "") << ": present in " << f.present << " of "
        << f.of;
      if (f.missing_when_required) o << ", missing when required " << f.missing_when_required;
      o << "\n";
    }
    o << "  source delay (recorded - occurred): " << dist(row.source_delay) << "\n";
    o << "  submit delay (accepted - recorded): " << dist(row.submit_delay) << "\n";
    o << "  timeliness: " << opt_share(row.timeliness_share(), "no norms") << "; norm violations "
      << row.norm_violations << " (missing follow-ups " << row.missing_follow_ups << ")\n";
    o << "  redeliveries " << row.redeliveries << ", dead letters " << row.dead_letters << ", disputes "
      << row.disputes << "\n";
  }

  o << "\nPer consumer (latency: broker accepted -> consumer acknowledged)\n";
  if (r.consumers.empty()) o << "  (no deliveries in the period)\n";
  for (const auto& c : r.consumers) {
    o << "  " << c.consumer << ": routed " << c.routed << ", delivered " << c.delivered << ", acknowledged "
      << c.acknowledged << ", nacked " << c.nacked << ", redeliveries " << c.redeliveries << ", dead letters "
      << c.dead_letters << "; latency " << dist(c.latency) << "\n";
    if (c.processed_done + c.processed_refused > 0) {
      o << "    processed: done " << c.processed_done << ", refused " << c.processed_refused
        << "; acknowledged -> processed " << dist(c.processing) << "\n";
    }
  }

  o << "\nNorm violations\n";
  if (r.norms.empty()) o << "  (none recorded)\n";
  for (const auto& n : r.norms) {
    o << "  " << n.contract << " " << n.norm << " by " << n.producer << ": " << n.violations
      << " (missing follow-ups " << n.missing_follow_ups << ", still open " << n.still_open << "); late by " << dist(n.late_by) << "\n";
  }

  o << "\nMissed obligations (most late first)\n";
  if (r.violations.empty()) o << "  (none recorded)\n";
  for (std::size_t i = 0; i < r.violations.size() && i < kViolationLines; ++i) {
    o << "  " << violation_line(r.violations[i]) << "\n";
  }
  if (r.violations.size() > kViolationLines) {
    o << "  ... and " << (r.violations.size() - kViolationLines) << " more (--format json lists every one)\n";
  }

  o << "\nDisputes raised against owners' items\n";
  if (r.disputes.empty()) o << "  (none)\n";
  for (const auto& d : r.disputes) {
    o << "  " << (d.owner.empty() ? "(unknown owner)" : d.owner) << " / "
      << (d.contract.empty() ? "(unknown contract)" : d.contract) << ": " << d.count;
    for (const auto& [reason, n] : d.reasons) o << "; " << reason << " " << n;
    o << "\n";
  }

  if (r.weeks.size() > 1) {
    o << "\nPer ISO week\n";
    for (const auto& w : r.weeks) {
      o << "  " << w.label << ": submitted " << w.submitted << ", rejected " << w.rejected << " ("
        << format_share(w.rejection_rate()) << "), duplicates " << w.duplicates << ", redeliveries "
        << w.redeliveries << ", dead letters " << w.dead_letters << ", norm violations " << w.norm_violations
        << ", disputes " << w.disputes << ", latency p95 "
        << (w.latency.count ? format_millis(w.latency.p95) : "-") << "\n";
    }
  }
  return o.str();
}

}  // namespace broker::report
