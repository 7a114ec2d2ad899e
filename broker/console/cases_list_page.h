#pragma once
// The case list on /cases when no case is chosen: the chooser, then the cases in the log in order
// of their reference, each linking to its timeline, a page at a time (paging.h). Pure.

#include <string>
#include <vector>

#include "broker/store/console_queries.h"

namespace broker::console {

std::string render_case_list(const std::vector<store::CaseSummary>& cases, bool limited);

}  // namespace broker::console
