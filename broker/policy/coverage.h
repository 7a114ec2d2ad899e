#pragma once
// Lint of a contract's sensitive fields against the delivery rules (`keten contracts lint`): every
// field a schema tags with "x-sensitivity" must be one the rules cover. Pure: contracts and
// partner roles in, problem lines out. docs/contracts.md ("Medical fields") lists the rules.
//
//   - the tag's value must be "medical" (redact() applies no rule to any other value, so such a
//     field would reach every consumer);
//   - a non-chain consumer (an executor outside the chain: airline, transport firm, municipality)
//     of a contract version with medical fields must have a projection: the contract says what it
//     needs, instead of everything the consent happens to allow.
// A projection for a non-chain consumer may list medical fields (the airline's transport and
// escort requirements): redact() still delivers them only under a valid consent.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace contracts {
struct Contract;
class ContractRegistry;
}  // namespace contracts

namespace broker::policy {

// A partner's role as the broker config names it ([[partner]] role).
enum class PartnerKind : std::uint8_t { kChainPartner, kCareProvider, kNonChain };
// "chain-partner", "care-provider", "non-chain"; nullopt for anything else.
std::optional<PartnerKind> partner_kind(std::string_view role);

using PartnerKinds = std::map<std::string, PartnerKind, std::less<>>;

// The problems of one contract version, each "<file>: <contract> v<N>: ...", naming the consumer
// and the pointers. `kinds` gives the roles of the partners the config knows; consumers not in it
// (or every consumer, when it is empty) are not checked against the role rule.
std::vector<std::string> check_sensitive_coverage(const contracts::Contract& contract, const PartnerKinds& kinds);

// Every contract version of `registry`, in name and version order.
std::vector<std::string> check_sensitive_coverage(const contracts::ContractRegistry& registry,
                                                  const PartnerKinds& kinds);

}  // namespace broker::policy
