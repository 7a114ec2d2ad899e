#pragma once
// The partners overview: per partner its backlog, oldest undelivered message, dead letters,
// rejection rate and when it was last seen. Counts only, no case data. Pure.

#include <string>
#include <vector>

#include "broker/store/console_queries.h"

namespace broker::console {

// `now` gives the ages; `window` is what the log-based columns cover (shown in the caption).
std::string render_partners(const std::vector<store::PartnerSummary>& partners, contracts::Millis now,
                            contracts::Millis window);

}  // namespace broker::console
