#include "broker/lifecycle/retention_rules.h"

#include <algorithm>

namespace broker::lifecycle {

RetentionVerdict judge_case(const std::vector<store::KeyMessages>& messages, contracts::ContractRegistry& registry,
                            contracts::Millis now) {
  RetentionVerdict out;
  bool forever = messages.empty();
  for (const auto& group : messages) {
    out.messages += group.count;
    const contracts::Contract* c = registry.find(group.contract, group.version);
    if (c == nullptr || c->retention.none()) {
      forever = true;
      out.rules.push_back({group.contract, group.version, "", c ? c->legal_basis : ""});
      continue;
    }
    out.due_at = std::max(out.due_at, contracts::retention_deadline(group.newest_accepted_at, c->retention));
    out.rules.push_back({group.contract, group.version, c->retention.text, c->legal_basis});
  }
  std::sort(out.rules.begin(), out.rules.end(), [](const auto& a, const auto& b) {
    return std::tie(a.contract, a.version) < std::tie(b.contract, b.version);
  });
  if (forever) {
    out.due_at = 0;
    return out;
  }
  out.due = now >= out.due_at;
  for (const auto& r : out.rules) {
    if (!out.reason.empty()) out.reason += "; ";
    out.reason += "retention " + r.retention + " of contract " + r.contract + " v" + std::to_string(r.version) +
                  ", basis " + r.legal_basis;
  }
  return out;
}

contracts::Millis shortest_retention(contracts::ContractRegistry& registry) {
  constexpr contracts::Millis kDay = 86'400'000;
  contracts::Millis shortest = -1;
  for (const auto& [key, c] : registry.all()) {
    if (c.retention.none()) continue;
    const contracts::Millis length =
        c.retention.years * 365 * kDay + c.retention.months * 28 * kDay + c.retention.fixed;
    if (shortest < 0 || length < shortest) shortest = length;
  }
  return shortest;
}

}  // namespace broker::lifecycle
