// libFuzzer target: PayloadValidator::validate on arbitrary payloads against the real contract sets
// (contracts/migration-chain and tests/data/contracts). Input: "<contract name>\n<payload>"; a name
// that is not in the sets picks a contract by hash, so mutated names still reach a validator.
// Besides ASan/UBSan, checks the outcome's shape: a rejection carries at least one error, each
// with a code and a reason; an acceptance carries none. And the fast path (contracts/fast_schema.h)
// against the full validator: it never accepts a payload the full validator refuses, and what its
// one-pass parser reads, nlohmann reads too, writing the same canonical text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/json_spans.h"
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

  auto& validator = contracts_set.pick(name).validator;
  const auto outcome = validator.validate(payload);
  if (outcome.ok() != outcome.errors.empty()) fail("ok() disagrees with the error list");
  for (const auto& error : outcome.errors) {
    if (error.code.empty() || error.reason.empty()) fail("an error without a code or a reason");
    if (!error.pointer.empty() && error.pointer[0] != '/') fail("an error pointer that is not a JSON pointer");
  }
  nlohmann::json document;  // asking for the document takes the full path
  const bool full_ok = validator.validate(payload, &document).ok();
  if (outcome.ok() != full_ok) fail("validate() and the full validator disagree");
  contracts::JsonSpans spans;
  if (validator.accepts_fast(payload, spans) && !full_ok)
    fail("the fast path accepted a payload the full validator refuses");
  if (contracts::is_valid_utf8(payload) && spans.parse(payload, contracts::kMaxPayloadDepth - 1)) {
    const auto parsed = nlohmann::json::parse(payload, nullptr, false);
    if (parsed.is_discarded()) fail("spans read a text nlohmann refuses");
    std::string canonical;
    if (contracts::write_canonical(spans, {}, canonical) && canonical != parsed.dump()) {
      fail("the canonical text differs from nlohmann's dump");
    }
  }
  return 0;
}
