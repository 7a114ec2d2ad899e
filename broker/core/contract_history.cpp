#include "broker/core/contract_history.h"

#include "contracts/digest.h"
#include "contracts/time.h"

namespace broker::core {

store::ContractText contract_text_of(const contracts::Contract& contract, contracts::Millis now) {
  return {contract.name,   contract.version,  contracts::sha256_hex(contract.text), contract.text,
          contract.path.string(), contract.builtin, now};
}

contracts::Result<void> check_contract_history(const contracts::ContractRegistry& registry,
                                               const std::vector<store::ContractText>& stored) {
  std::string problems;
  for (const auto& [key, contract] : registry.all()) {
    if (contract.builtin) continue;
    const std::string digest = contracts::sha256_hex(contract.text);
    const store::ContractText* first = nullptr;
    bool known = false;
    for (const auto& t : stored) {
      if (t.builtin || t.contract != contract.name || t.version != contract.version) continue;
      if (t.digest == digest) known = true;
      if (!first || t.first_loaded_at < first->first_loaded_at) first = &t;
    }
    if (known || !first) continue;
    if (!problems.empty()) problems += "\n";
    problems += contract.path.string() + ": contract " + contract.name + " v" + std::to_string(contract.version) +
                " was first served on " + contracts::format_rfc3339(first->first_loaded_at) + " with another text (sha256 " +
                first->digest + ", this file's is " + digest +
                "); a served version cannot change: restore that text and publish the change as a new version (" +
                contract.name + ".v" + std::to_string(registry.versions(contract.name).back() + 1) + ".json)";
  }
  if (problems.empty()) return {};
  return contracts::Error{contracts::ErrorCode::kConfig, problems};
}

contracts::Result<std::size_t> record_contract_history(const contracts::ContractRegistry& registry,
                                                       store::ContractHistory& history, contracts::Millis now) {
  std::size_t added = 0;
  for (const auto& [key, contract] : registry.all()) {
    auto r = history.record(contract_text_of(contract, now));
    if (!r) return r.error();
    if (*r) ++added;
  }
  return added;
}

}  // namespace broker::core
