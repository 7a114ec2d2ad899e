#pragma once
// The quality report as a `dataquality.report.published` v1 payload
// (contracts/migration-chain/dataquality.report.published.v1.json): per contract and producer the
// counts and the timeliness, completeness and rejection shares, and the dispute count. The broker
// publishes it on a schedule; `keten report quality --format payload` prints it. Pure.
//
// In the broker (between transactions, on its own store handle):
//   auto input = report::read_input(store, {from, to, "", ""});          // source.h
//   input->contracts = report::contract_infos(registry);                 // contract_info.h
//   auto quality = report::compute_quality(*input, {from, to, "", ""});  // quality.h
//   std::string payload = report::build_quality_payload(quality, {report::default_report_id(quality), now});

#include <string>

#include "broker/report/quality.h"

namespace broker::report {

struct PayloadOptions {
  std::string report_id;   // "DQR-" + letters, digits and '-', e.g. "DQR-2026-W48"
  Millis generated_at = 0; // when the report was made
};

// Compact JSON text, valid against the contract whenever report_id matches its pattern and the
// period is known (period_from and period_to not 0).
std::string build_quality_payload(const QualityReport& report, const PayloadOptions& options);

// A report id from the period: "DQR-<ISO week of period_from>" when the period is one ISO week,
// else "DQR-<yyyymmdd of from>-<yyyymmdd of the last day>".
std::string default_report_id(const QualityReport& report);

}  // namespace broker::report
