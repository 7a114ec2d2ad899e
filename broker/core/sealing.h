#pragma once
// Which stored payloads are sealed (encrypted at rest, broker/store/seal.h), and the key that does
// it. A contract version whose schema tags any field with "x-sensitivity" (today: "medical") has
// its payloads sealed; the broker refuses to start with such a contract set and no payload_key
// (docs/configuration.md, docs/store-format.md).

#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "contracts/error.h"

namespace contracts {
class ContractRegistry;
struct Contract;
}  // namespace contracts

namespace broker::core {

struct BrokerOptions;

// (contract name, version) of every contract version whose payloads are stored sealed.
using SealedContracts = std::set<std::pair<std::string, std::uint32_t>>;

SealedContracts sealed_contracts(const contracts::ContractRegistry& registry);

// True when a payload of `contract` must be stored sealed: by `sealed` when given, otherwise from
// the contract's schema (an unreadable schema counts as sensitive).
bool must_seal(const SealedContracts* sealed, const contracts::Contract& contract);

// The store's payload key (32 raw bytes) from options.payload_key (64 hex characters), or "" when
// none is configured and nothing is sealed. kConfig when the hex is bad, or when `sealed` is not
// empty and no key is configured (naming a contract that needs it).
[[nodiscard]] contracts::Result<std::string> store_payload_key(const BrokerOptions& options,
                                                               const SealedContracts& sealed);

}  // namespace broker::core
