#pragma once
// What the contract set tags as sensitive, read once at start, and what follows from it: which
// stored payloads are sealed (encrypted at rest, broker/store/seal.h), and the key that does it. A contract version whose schema tags any field with "x-sensitivity" (today: "medical") has
// its payloads sealed; the broker refuses to start with such a contract set and no payload_key
// (docs/configuration.md, docs/store-format.md).

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/policy/redaction.h"
#include "contracts/error.h"

namespace contracts {
class ContractRegistry;
struct Contract;
}  // namespace contracts

namespace broker::core {

struct BrokerOptions;

// The sensitive fields of every contract version that has any (policy::sensitive_fields). The
// intake prepares redaction and the scheduler redacts from it; contracts without sensitive fields
// are absent.
using SensitiveByContract = std::map<const contracts::Contract*, std::vector<policy::SensitiveField>>;

// Reads every schema of the set once. kConfig naming the contract when the policy cannot find its
// sensitive fields: the broker refuses to start rather than send anything unfiltered.
[[nodiscard]] contracts::Result<SensitiveByContract> sensitive_by_contract(const contracts::ContractRegistry& registry);

// (contract name, version) of every contract version whose payloads are stored sealed.
using SealedContracts = std::set<std::pair<std::string, std::uint32_t>>;

// The contract versions with sensitive fields: their payloads are stored sealed.
SealedContracts sealed_contracts(const SensitiveByContract& sensitive);

// True when a payload of `contract` must be stored sealed: by `sealed` when given, otherwise from
// the contract's schema (an unreadable schema counts as sensitive).
bool must_seal(const SealedContracts* sealed, const contracts::Contract& contract);

// The store's payload key (32 raw bytes) from options.payload_key (64 hex characters), or "" when
// none is configured and nothing is sealed. kConfig when the hex is bad, or when `sealed` is not
// empty and no key is configured (naming a contract that needs it).
[[nodiscard]] contracts::Result<std::string> store_payload_key(const BrokerOptions& options,
                                                               const SealedContracts& sealed);

}  // namespace broker::core
