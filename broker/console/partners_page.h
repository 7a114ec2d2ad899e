#pragma once
// The partners overview: per partner whether it is connected (from the broker's /metrics), its
// backlog, oldest undelivered message, dead letters, rejection rate and when it was last seen. Counts only, no case data. Pure.

#include <map>
#include <string>
#include <vector>

#include "broker/console/broker_status.h"
#include "broker/store/console_queries.h"

namespace broker::console {

// The broker's view of its connections: nullptr when the console was not given the broker's
// endpoint; `problem` says why it could not be read ("" when it was).
struct Liveness {
  const std::map<std::string, PartnerLiveness>* partners = nullptr;
  std::string problem;
};

// `now` gives the ages; `window` is what the log-based columns cover (shown in the caption).
std::string render_partners(const std::vector<store::PartnerSummary>& partners, contracts::Millis now,
                            contracts::Millis window, const Liveness& live = {});

}  // namespace broker::console
