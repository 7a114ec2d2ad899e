#pragma once
// When a case is due for shredding (docs/operations.md, "Retention"): pure rules, no SQL. A case
// key is due when every message it seals is past its own contract version's retention, counted from
// its acceptance (contracts/retention.h); a message whose contract version states no retention, or
// that the loaded contract set no longer has, keeps the case for ever. Thread-safe; nothing throws.

#include <cstdint>
#include <string>
#include <vector>

#include "broker/events/event.h"
#include "broker/store/retention.h"
#include "contracts/registry.h"

namespace broker::lifecycle {

struct RetentionVerdict {
  bool due = false;
  contracts::Millis due_at = 0;              // when it is (or will be) due; 0 when kept for ever
  std::vector<events::RetentionRule> rules;  // per contract version of its messages, sorted
  std::uint32_t messages = 0;
  // The shred_reason the store records and readers quote: "retention P5Y of contract X v1, basis
  // Y" per contract version, joined with "; ".
  std::string reason;
};

RetentionVerdict judge_case(const std::vector<store::KeyMessages>& messages, contracts::ContractRegistry& registry,
                            contracts::Millis now);

// The shortest time any retention in the set can take (years as 365 days, months as 28), or -1
// when no contract states one: no key made after now minus this can be due.
contracts::Millis shortest_retention(contracts::ContractRegistry& registry);

}  // namespace broker::lifecycle
