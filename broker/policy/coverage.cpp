#include "broker/policy/coverage.h"

#include "broker/policy/redaction.h"
#include "contracts/registry.h"

namespace broker::policy {

std::optional<PartnerKind> partner_kind(std::string_view role) {
  if (role == "chain-partner") return PartnerKind::kChainPartner;
  if (role == "care-provider") return PartnerKind::kCareProvider;
  if (role == "non-chain") return PartnerKind::kNonChain;
  return std::nullopt;
}

std::vector<std::string> check_sensitive_coverage(const contracts::Contract& contract, const PartnerKinds& kinds) {
  std::vector<std::string> problems;
  const std::string where =
      contract.path.filename().string() + ": " + contract.name + " v" + std::to_string(contract.version) + ": ";
  auto fields = sensitive_fields(contract.schema_json);
  if (!fields) {
    problems.push_back(where + "cannot read the schema's sensitive fields: " + fields.error().detail);
    return problems;
  }
  std::string medical;  // the medical pointers, comma-separated
  for (const auto& f : *fields) {
    if (f.sensitivity == "medical") {
      medical += (medical.empty() ? "" : ", ") + f.pattern;
    } else {
      problems.push_back(where + "field " + f.pattern + " has x-sensitivity \"" + f.sensitivity +
                         "\", which no delivery rule covers (the only known value is \"medical\")");
    }
  }
  if (medical.empty()) return problems;
  for (const auto& consumer : contract.consumers) {
    auto kind = kinds.find(consumer);
    if (kind == kinds.end() || kind->second != PartnerKind::kNonChain) continue;
    if (contract.projections.count(consumer) > 0) continue;
    problems.push_back(where + "consumer " + consumer + " (non-chain) has no projection and would be offered the "
                               "medical fields " + medical + "; declare \"projections\": {\"" + consumer +
                               "\": [...]} with only the fields it needs");
  }
  return problems;
}

std::vector<std::string> check_sensitive_coverage(const contracts::ContractRegistry& registry,
                                                  const PartnerKinds& kinds) {
  std::vector<std::string> problems;
  for (const auto& [key, contract] : registry.all()) {
    for (auto& p : check_sensitive_coverage(contract, kinds)) problems.push_back(std::move(p));
  }
  return problems;
}

}  // namespace broker::policy
