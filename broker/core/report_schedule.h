#pragma once
// ReportSchedule: the broker's own publication of the data-quality report (docs/quality-report.md)
// as a `dataquality.report.published` message, every `report_interval`, on behalf of the configured
// producer (an owner of that contract, e.g. DRM), covering the period since the previous one. The
// message goes through the normal pipeline (validated, stored, logged, routed to the contract's
// consumers), so it is evidence like any other.
//
// Threading: the broker loop thread. make() reads the store outside any open transaction.

#include <optional>

#include "broker/core/options.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {
class Store;
}
namespace contracts {
class ContractRegistry;
}

namespace broker::core {

inline constexpr const char* kQualityReportContract = "dataquality.report.published";

class ReportSchedule {
 public:
  // Off when options.report_interval is 0. The first report covers the interval before `start`.
  ReportSchedule(const BrokerOptions& options, contracts::Millis start);

  bool due(contracts::Millis now) const { return interval_ > 0 && now >= next_at_; }
  // The report for [previous, now) as a Submit from options.report_producer; moves the schedule on.
  [[nodiscard]] contracts::Result<contracts::Submit> make(store::Store& store,
                                                          const contracts::ContractRegistry& registry,
                                                          contracts::Millis now);

 private:
  contracts::Millis interval_;
  contracts::Millis from_;
  contracts::Millis next_at_;
};

}  // namespace broker::core
