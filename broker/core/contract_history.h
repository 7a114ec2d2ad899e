#pragma once
// The contract history at start: a contract version already served must keep its text (a change is
// a new version), and every version's text is recorded by digest when first loaded, so that the
// rules in force at any moment can be rebuilt (docs/contracts.md, "Contract history").

#include <vector>

#include "broker/store/contract_history.h"
#include "contracts/error.h"
#include "contracts/registry.h"

namespace broker::core {

// The history row `contract` would add when loaded at `now`.
store::ContractText contract_text_of(const contracts::Contract& contract, contracts::Millis now);

// kConfig naming each file whose contract version was first served with another text (its digest,
// when, and the way out: a new version). Built-in contracts are not compared: their text follows
// the configured partners.
[[nodiscard]] contracts::Result<void> check_contract_history(const contracts::ContractRegistry& registry,
                                                             const std::vector<store::ContractText>& stored);

// Records every contract version of `registry` not yet in `history` (inside the caller's
// transaction); returns how many were new.
[[nodiscard]] contracts::Result<std::size_t> record_contract_history(const contracts::ContractRegistry& registry,
                                                                     store::ContractHistory& history,
                                                                     contracts::Millis now);

}  // namespace broker::core
