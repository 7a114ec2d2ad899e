// libFuzzer target: PayloadValidator::validate on arbitrary payloads against the real contract sets
// (contracts/migration-chain and tests/data/contracts). Input: "<contract name>\n<payload>"; a name
// that is not in the sets picks a contract by hash, so mutated names still reach a validator.
// Besides ASan/UBSan, checks the outcome's shape: a rejection carries at least one error, each
// with a code and a reason; an acceptance carries none.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/registry.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_validator: %s\n", what);
  std::abort();
}

struct Contracts {
  std::vector<contracts::ContractRegistry> registries;
  std::vector<contracts::Contract*> all;

  Contracts() {
    for (const char* dir : {"/contracts/migration-chain", "/tests/data/contracts"}) {
      auto registry = contracts::ContractRegistry::load(std::string(KETEN_SOURCE_DIR) + dir);
      if (!registry) {
        std::fprintf(stderr, "fuzz_validator: %s\n", registry.error().detail.c_str());
        std::abort();
      }
      registries.push_back(std::move(*registry));
    }
    for (auto& registry : registries) {
      for (const auto& [key, contract] : registry.all()) all.push_back(registry.find(key.first, key.second));
    }
    if (all.empty()) fail("no contracts loaded");
  }

  contracts::Contract& pick(std::string_view name) {
    for (auto* contract : all) {
      if (contract->name == name) return *contract;
    }
    return *all[std::hash<std::string_view>{}(name) % all.size()];
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Contracts contracts_set;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view name = newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? input : input.substr(newline + 1);

  const auto outcome = contracts_set.pick(name).validator.validate(payload);
  if (outcome.ok() != outcome.errors.empty()) fail("ok() disagrees with the error list");
  for (const auto& error : outcome.errors) {
    if (error.code.empty() || error.reason.empty()) fail("an error without a code or a reason");
    if (!error.pointer.empty() && error.pointer[0] != '/') fail("an error pointer that is not a JSON pointer");
  }
  return 0;
}
