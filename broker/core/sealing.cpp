#include "broker/core/sealing.h"

#include "broker/core/options.h"
#include "broker/policy/redaction.h"
#include "broker/store/seal.h"
#include "contracts/registry.h"

namespace broker::core {

namespace {

bool has_sensitive_fields(const contracts::Contract& contract) {
  auto fields = policy::sensitive_fields(contract.schema_json);
  return !fields || !fields->empty();
}

}  // namespace

contracts::Result<SensitiveByContract> sensitive_by_contract(const contracts::ContractRegistry& registry) {
  SensitiveByContract out;
  for (const auto& [key, c] : registry.all()) {
    auto fields = policy::sensitive_fields(c.schema_json);
    if (!fields) {
      return contracts::Error{contracts::ErrorCode::kConfig,
                              "contracts " + c.path.string() + ": the policy cannot find the sensitive fields of " +
                                  c.name + " v" + std::to_string(c.version) + ": " + fields.error().detail};
    }
    if (!fields->empty()) out.emplace(&c, std::move(*fields));
  }
  return out;
}

SealedContracts sealed_contracts(const SensitiveByContract& sensitive) {
  SealedContracts sealed;
  for (const auto& [contract, fields] : sensitive) sealed.emplace(contract->name, contract->version);
  return sealed;
}

bool must_seal(const SealedContracts* sealed, const contracts::Contract& contract) {
  if (sealed == nullptr) return has_sensitive_fields(contract);
  return sealed->count({contract.name, contract.version}) > 0;
}

contracts::Result<std::string> store_payload_key(const BrokerOptions& options, const SealedContracts& sealed) {
  if (options.payload_key.empty()) {
    if (sealed.empty()) return std::string();
    const auto& [name, version] = *sealed.begin();
    return contracts::Error{
        contracts::ErrorCode::kConfig,
        "payload_key: the contract set has medical fields (" + std::to_string(sealed.size()) +
            " contract versions, e.g. " + name + " v" + std::to_string(version) +
            "), whose payloads are stored encrypted; set [broker] payload_key (make one with "
            "`keten keygen broker --payload`)"};
  }
  auto key = store::payload_key_from_hex(options.payload_key);
  if (!key) return contracts::Error{contracts::ErrorCode::kConfig, "payload_key: " + key.error().detail};
  return key;
}

}  // namespace broker::core
