#include "broker/core/start_checks.h"

#include "broker/core/contract_history.h"
#include "broker/core/options.h"

namespace broker::core {
namespace {

// kConfig naming the contract folder and what changed when `registry` holds a version `stored`
// was served with under another text; the store's error when it could not be read.
contracts::Result<void> check_served_texts(const contracts::ContractRegistry& registry,
                                           const contracts::Result<std::vector<store::ContractText>>& stored,
                                           const BrokerOptions& options) {
  if (!stored) return stored.error();
  if (auto r = check_contract_history(registry, *stored); !r) {
    return contracts::Error{contracts::ErrorCode::kConfig, "contracts " + options.contracts.string() + ": " + r.error().detail};
  }
  return {};
}

}  // namespace

contracts::Result<CheckedConfig> check_start_config(const BrokerOptions& options) {
  using contracts::Error;
  using contracts::ErrorCode;
  contracts::ConfiguredParties parties;  // for the built-in consent contracts
  for (const auto& p : options.partners) {
    parties.partners.push_back(p.id);
    if (p.role == PartnerRole::kCareProvider) parties.care_providers.push_back(p.id);
  }
  auto registry = contracts::ContractRegistry::load(options.contracts, parties);
  if (!registry) return Error{ErrorCode::kConfig, "contracts " + options.contracts.string() + ": " + registry.error().detail};
  // A version the store file has served with another text is refused (contract_history.h); on
  // PostgreSQL last, as it needs the database (so what the configuration alone shows comes first).
  if (options.store_url.empty()) {
    if (auto r = check_served_texts(*registry, store::read_contract_history(options.store), options); !r) return r.error();
  }
  // The data-protection policy must be able to find every sensitive field before anything is sent.
  auto sensitive = sensitive_by_contract(*registry);
  if (!sensitive) return sensitive.error();
  SealedContracts sealed = sealed_contracts(*sensitive);
  // Retention shreds case keys, which only exist under a payload key: without one a retention
  // period could never be kept, so it is refused rather than silently ignored.
  if (options.payload_key.empty()) {
    for (const auto& [key, c] : registry->all()) {
      if (c.retention.none()) continue;
      return Error{ErrorCode::kConfig,
                   "payload_key: contract " + c.name + " v" + std::to_string(c.version) + " (" + c.path.string() +
                       ") sets retention " + c.retention.text +
                       ", which is kept by shredding per-case keys wrapped by the payload key; set [broker] "
                       "payload_key (make one with `keten keygen broker --payload`)"};
    }
  }
  // The PostgreSQL store has no per-case keys yet, so it cannot shred a case: a retention period
  // is refused there rather than silently not kept.
  if (!options.store_url.empty()) {
    for (const auto& [key, c] : registry->all()) {
      if (c.retention.none()) continue;
      return Error{ErrorCode::kConfig, "store: contract " + c.name + " v" + std::to_string(c.version) + " (" +
                                           c.path.string() + ") sets retention " + c.retention.text +
                                           ", which is kept by shredding per-case keys; the PostgreSQL store has "
                                           "none yet: use the SQLite store for this contract set"};
    }
  }
  auto payload_key = store_payload_key(options, sealed);
  if (!payload_key) return payload_key.error();
  audit::SigningKey signing_key;
  if (!options.signing_key.empty()) {
    auto key = audit::signing_key_from_hex(options.signing_key);
    if (!key) return Error{ErrorCode::kConfig, "signing_key: " + key.error().detail};
    signing_key = std::move(*key);
  }
  if (!options.store_url.empty()) {
    if (auto r = check_served_texts(*registry, store::read_pg_contract_history(options.store_url), options); !r) {
      return r.error();
    }
  }
  return CheckedConfig{std::move(*registry), std::move(*sensitive), std::move(sealed), std::move(*payload_key),
                       std::move(signing_key)};
}

}  // namespace broker::core
