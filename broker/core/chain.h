#pragma once
// Chain: what the broker knows of the chain it serves, fixed for as long as it runs: the contract
// set and the medical fields of each contract version, the contract versions whose payloads are
// stored sealed, the payload key, and the configured partners with their roles and the versions
// each consumer takes. Broker::start builds it once from the checked configuration, and the loop's
// parts only read it. The intake and the delivery scheduler keep references into it, so it stays
// where the broker put it.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "broker/core/options.h"
#include "broker/core/routing.h"
#include "broker/core/sealing.h"
#include "contracts/registry.h"

namespace broker::core {

struct Chain {
  contracts::ContractRegistry registry;
  // Keys point into `registry`; moving a registry (its std::map) keeps its elements where they are.
  SensitiveByContract sensitive;
  SealedContracts sealed;                // contract versions whose payloads are stored sealed
  std::string payload_key;               // 32 raw bytes or "": seals medical evidence values in accepted events
  std::vector<std::string> partner_ids;  // every configured partner
  std::set<std::string, std::less<>> care_providers;  // only they may send consent.*
  VersionChoices choices;                             // the versions each consumer takes, where it chose

  // The partners' ids, roles and version choices from `partners`; the rest as given.
  static Chain make(const std::vector<PartnerConfig>& partners, contracts::ContractRegistry registry,
                    SensitiveByContract sensitive, SealedContracts sealed, std::string payload_key) {
    Chain chain{std::move(registry), std::move(sensitive), std::move(sealed), std::move(payload_key), {}, {}, {}};
    for (const auto& p : partners) {
      chain.partner_ids.push_back(p.id);
      if (p.role == PartnerRole::kCareProvider) chain.care_providers.insert(p.id);
      if (!p.takes.empty()) chain.choices[p.id] = p.takes;
    }
    return chain;
  }
};

}  // namespace broker::core
