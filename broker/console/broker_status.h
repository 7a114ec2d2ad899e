#pragma once
// Whether each partner is connected right now, which only the running broker knows: read from its
// operator endpoint's /metrics (docs/operations.md: keten_partner_connected and
// keten_partner_last_seen_age_seconds, per partner).

#include <map>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace broker::console {

struct PartnerLiveness {
  bool connected = false;
  double last_seen_age_seconds = -1;  // -1 = not reported
};

// The two gauges per partner from Prometheus text; lines of other metrics are skipped. Pure.
std::map<std::string, PartnerLiveness> parse_partner_liveness(std::string_view metrics_text);

// GET http://<host:port>/metrics with a short timeout. kTransport naming the address when it does
// not answer 200.
[[nodiscard]] contracts::Result<std::string> fetch_metrics(const std::string& host_port);

}  // namespace broker::console
