#include "broker/core/report_schedule.h"

#include "broker/report/contract_info.h"
#include "broker/report/payload.h"
#include "broker/report/source.h"
#include "contracts/registry.h"

namespace broker::core {

ReportSchedule::ReportSchedule(const BrokerOptions& options, contracts::Millis start)
    : interval_(options.report_interval.count()), from_(start), next_at_(start + options.report_interval.count()) {}

contracts::Result<contracts::Submit> ReportSchedule::make(store::Store& store,
                                                          const contracts::ContractRegistry& registry,
                                                          contracts::Millis now) {
  const report::ReportQuery query{from_, now, "", ""};
  from_ = now;
  next_at_ = now + interval_;
  auto input = report::read_input(store, query);
  if (!input) return input.error();
  input->contracts = report::contract_infos(registry);
  const auto quality = report::compute_quality(*input, query);
  contracts::Submit s;
  // One id per period: a repeated publication of the same period is a duplicate, not a second report.
  s.header.message_id = "dqr-" + std::to_string(query.from) + "-" + std::to_string(query.to);
  s.header.contract = kQualityReportContract;
  s.header.version = 1;
  s.header.case_ref = report::default_report_id(quality);
  s.header.recorded_at = now;
  s.header.origin = "broker:report-schedule";
  s.payload = report::build_quality_payload(quality, {s.header.case_ref, now});
  return s;
}

}  // namespace broker::core
