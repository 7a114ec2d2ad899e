#pragma once
// The contract catalogue (every contract version of the console's --contracts folder: owners,
// consumers, norms, projections) and the quality report for a chosen period (broker/report's own
// HTML page, shown in a frame). Counts and contracts only, no case data. Pure.

#include <string>

#include "contracts/registry.h"

namespace broker::console {

// `registry` nullptr: the console was started without --contracts.
std::string render_contracts(const contracts::ContractRegistry* registry);

// The period form, then the report (report_html) or the problem.
std::string render_quality(const std::string& from_text, const std::string& to_text, const std::string& report_html,
                           const std::string& problem);

}  // namespace broker::console
