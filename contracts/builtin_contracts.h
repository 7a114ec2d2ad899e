#pragma once
// The contract files built into the broker (contracts/builtin/*.json, embedded at build time): the
// consent contracts, whose messages the broker itself acts on. ContractRegistry::load reads them
// before a contract set; a set's file of the same name and version replaces one.

#include <string_view>
#include <vector>

namespace contracts {

struct BuiltinContractFile {
  std::string_view name;  // "consent.registered.v1.json"
  std::string_view text;  // the file's JSON text
};

// In file-name order. The texts live for the whole program.
const std::vector<BuiltinContractFile>& builtin_contract_files();

// In a built-in file's `owner` and `consumers`: every partner configured with role care-provider.
inline constexpr std::string_view kCareProvidersMarker = "@care-providers";

}  // namespace contracts
