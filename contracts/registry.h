#pragma once
// ContractRegistry: a contract set loaded from a folder holding one `<name>.v<N>.json` per contract
// version (format: docs/contracts.md). Immutable after load except for the validators' caches.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/compatibility.h"
#include "contracts/error.h"
#include "contracts/evidence.h"
#include "contracts/norms.h"
#include "contracts/retention.h"
#include "contracts/validator.h"

namespace contracts {

struct Contract {
  std::string name;                    // e.g. "departure.scheduled"
  std::uint32_t version = 0;           // >= 1
  std::string description;
  std::vector<std::string> owners;     // partners allowed to produce it (usually exactly one)
  std::vector<std::string> consumers;  // default recipients
  std::filesystem::path path;          // the file it came from
  PayloadValidator validator;
  std::string schema_json{};  // the `schema` object as compact JSON text, for compatibility checks
  CompatibilityMode compatibility = CompatibilityMode::kBackward;  // checked against earlier versions
  std::vector<Norm> norms{};  // timeliness norms (contracts/norms.h); evaluated by the broker
  // Per consumer, the payload pointers it receives (top-level properties); absent = everything.
  std::map<std::string, std::vector<std::string>, std::less<>> projections{};
  bool builtin = false;  // from the broker's built-in files (contracts/builtin), not the set's folder
  // Per consumer, the consent purpose for which it receives medical fields (`purposes` in the
  // file); a consent covers that consumer's deliveries of this contract only for this purpose.
  std::map<std::string, std::string, std::less<>> purposes{};
  // The file's JSON as the broker read it, re-serialised compactly with sorted keys (white space
  // and key order do not count); for a built-in, with the configured partners filled in. Its
  // SHA-256 is the version's text digest in the store's contract history (docs/contracts.md).
  std::string text{};
  // `ttl` in the file: a delivery still undelivered this long after acceptance is expired, never
  // delivered late (docs/contracts.md, "Expiry"). 0 = none.
  Millis ttl = 0;
  // The fields the schema marks "x-evidence": true (contracts/evidence.h), whose values the
  // accepted event records.
  std::vector<EvidenceField> evidence{};
  // `retention` in the file (contracts/retention.h; docs/contracts.md, "Retention"): the payloads of
  // a case are shredded once every message of it is this far past its acceptance. none() = kept for
  // ever. `legal_basis`: why they may be kept that long, as the file says it (required with
  // retention).
  RetentionPeriod retention{};
  std::string legal_basis{};
  // Per consumer, the legal basis or agreement under which it receives this contract
  // (`delivery_bases` in the file: "Vw 2000 art. 107; agreement CVG-2024-03"); each `routed` event
  // to that consumer records it, so the log says on what basis a party outside the chain got what.
  std::map<std::string, std::string, std::less<>> delivery_bases{};

  bool is_owner(std::string_view partner) const;
  bool is_consumer(std::string_view partner) const;
  // The purpose declared for `consumer`; "" when none (then no consent opens its medical fields).
  std::string_view purpose_for(std::string_view consumer) const;
  // The delivery basis declared for `consumer`; "" when none.
  std::string_view delivery_basis_for(std::string_view consumer) const;
};

// The broker's partners, as its config names them, for what the built-in contracts need.
struct ConfiguredParties {
  std::vector<std::string> partners;        // every partner id; empty = not known (tools)
  std::vector<std::string> care_providers;  // ids with role care-provider
};

class ContractRegistry {
 public:
  // Loads the built-in contracts (contracts/builtin_contracts.h) and every `*.json` file directly in
  // `dir`; a file of the same name and version as a built-in replaces it (logged at info). With
  // `parties`, the built-ins' owners and consumers are the care providers and their `recipient`
  // accepts exactly the partner ids; a replacing file's `recipient` must accept every one of them.
  // Fails with kConfig listing every problem found (one per line: file, what is wrong) if any file
  // is bad; see lint_contract_set.
  [[nodiscard]] static Result<ContractRegistry> load(const std::filesystem::path& dir,
                                                     const ConfiguredParties& parties = {});

  // A registry of contracts already read and checked (lint, tests). A later duplicate of a name and
  // version is dropped.
  static ContractRegistry from_contracts(std::vector<Contract> contracts);

  // nullptr when no such contract version.
  Contract* find(std::string_view name, std::uint32_t version);
  bool has_contract(std::string_view name) const;
  std::vector<std::uint32_t> versions(std::string_view name) const;
  std::size_t size() const { return contracts_.size(); }
  const std::map<std::pair<std::string, std::uint32_t>, Contract, std::less<>>& all() const {
    return contracts_;
  }

 private:
  // Looks up the map's pair<string, version> keys by string_view without building a string:
  // std::less<> finds these operators by argument-dependent lookup.
  struct Key {
    std::string_view name;
    std::uint32_t version = 0;
    friend bool operator<(const Key& a, const std::pair<std::string, std::uint32_t>& b) {
      const int order = a.name.compare(b.first);
      return order < 0 || (order == 0 && a.version < b.second);
    }
    friend bool operator<(const std::pair<std::string, std::uint32_t>& a, const Key& b) {
      const int order = b.name.compare(a.first);
      return order > 0 || (order == 0 && a.second < b.version);
    }
  };

  std::map<std::pair<std::string, std::uint32_t>, Contract, std::less<>> contracts_;
};

// Checks a contract set, the built-in contracts included: each file parses, has the required keys with the right types, its name
// matches `<contract>.v<version>.json`, its schema compiles; when `known_partners` is not empty,
// every owner and consumer is one of them; each version is compatible with the earlier ones under
// the mode it declares (see check_compatibility). Returns every problem, each "file: problem";
// empty = ok.
std::vector<std::string> lint_contract_set(const std::filesystem::path& dir,
                                           const std::vector<std::string>& known_partners = {});

// Reads one contract file with the same checks as load (partners are not checked). kConfig listing
// every problem, one per line, when the file is bad.
[[nodiscard]] Result<Contract> load_contract_file(const std::filesystem::path& path);

// Every version of every contract in `registry` against its earlier versions under the mode the
// newer version declares (contracts/compatibility.h). Empty = compatible.
struct ContractCompatibilityProblem {
  std::string contract;
  std::filesystem::path path;  // the newer version's file
  CompatibilityProblem problem;
};
std::vector<ContractCompatibilityProblem> check_compatibility(const ContractRegistry& registry);

}  // namespace contracts
