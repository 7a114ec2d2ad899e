#include "broker/console/broker_status.h"

#include <httplib.h>

#include <charconv>
#include <cstdlib>

#include "broker/ops/http_server.h"

namespace broker::console {
namespace {

// `name{partner="X"} value` -> X and value; false for any other line.
bool sample(std::string_view line, std::string_view name, std::string& partner, double& value) {
  const std::string prefix = std::string(name) + "{partner=\"";
  if (line.substr(0, prefix.size()) != prefix) return false;
  const auto close = line.find("\"}", prefix.size());
  if (close == std::string_view::npos) return false;
  partner = std::string(line.substr(prefix.size(), close - prefix.size()));
  const std::string number(line.substr(close + 2));
  char* end = nullptr;
  value = std::strtod(number.c_str(), &end);
  return end != number.c_str();
}

}  // namespace

std::map<std::string, PartnerLiveness> parse_partner_liveness(std::string_view text) {
  std::map<std::string, PartnerLiveness> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string partner;
    double value = 0;
    if (sample(line, "keten_partner_connected", partner, value)) {
      out[partner].connected = value > 0;
    } else if (sample(line, "keten_partner_last_seen_age_seconds", partner, value)) {
      out[partner].last_seen_age_seconds = value;
    }
  }
  return out;
}

contracts::Result<std::string> fetch_metrics(const std::string& host_port) {
  auto address = ops::parse_host_port(host_port);
  if (!address) return address.error();
  httplib::Client client(address->host, address->port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto res = client.Get("/metrics");
  if (!res) {
    return contracts::Error{contracts::ErrorCode::kTransport,
                            "broker endpoint " + host_port + " did not answer (" + httplib::to_string(res.error()) + ")"};
  }
  if (res->status != 200) {
    return contracts::Error{contracts::ErrorCode::kTransport,
                            "broker endpoint " + host_port + " answered " + std::to_string(res->status)};
  }
  return res->body;
}

}  // namespace broker::console
