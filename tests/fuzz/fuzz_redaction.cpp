// libFuzzer target: broker/policy/redaction on arbitrary JSON. Input: "<contract name>\n<payload>"
// (same format as fuzz_validator, so the corpora share seeds). The payload is redacted against the
// sensitive fields and projections of a real contract (by name, or by hash for unknown names), for
// three recipients: no consent, care provider, projection. The input itself is also read as a
// schema (sensitive_fields on arbitrary JSON) and the payload redacted against what that finds.
// Checks, besides ASan/UBSan:
//  - the redacted payload is JSON;
//  - without consent, every medical match of the original is removed (listed, or inside a listed
//    removal), and the result has no medical field left at a pattern without array positions;
//  - a care provider without projection receives the payload unchanged;
//  - nothing removed by a projection is kept by one of its patterns.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/policy/redaction.h"
#include "contracts/registry.h"

namespace {

using broker::policy::RecipientView;
using broker::policy::SensitiveField;
using Json = nlohmann::json;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_redaction: %s\n", what);
  std::abort();
}

struct Target {
  std::string name;
  std::vector<SensitiveField> sensitive;
  std::vector<std::vector<std::string>> projections;
};

std::vector<Target> load_targets() {
  std::vector<Target> out;
  for (const char* dir : {"/contracts/migration-chain", "/tests/data/contracts"}) {
    auto registry = contracts::ContractRegistry::load(std::string(KETEN_SOURCE_DIR) + dir);
    if (!registry) fail(registry.error().detail.c_str());
    for (const auto& [key, contract] : registry->all()) {
      auto fields = broker::policy::sensitive_fields(contract.schema_json);
      if (!fields) fail("a contract schema that sensitive_fields cannot read");
      Target target{contract.name, std::move(*fields), {}};
      for (const auto& [consumer, patterns] : contract.projections) target.projections.push_back(patterns);
      out.push_back(std::move(target));
    }
  }
  if (out.empty()) fail("no contracts loaded");
  return out;
}

const Target& pick(const std::vector<Target>& targets, std::string_view name) {
  for (const auto& target : targets) {
    if (target.name == name) return target;
  }
  return targets[std::hash<std::string_view>{}(name) % targets.size()];
}

// Every concrete pointer in `node` matching `pattern` (a pointer whose segments may be `*`).
void matches(const Json& node, const std::string& pattern, const std::string& pointer,
             std::vector<std::string>& out, int depth = 0) {
  if (depth > 256) return;
  if (broker::policy::pointer_matches(pattern, pointer)) out.push_back(pointer);
  const auto escape = [](std::string key) {
    std::string escaped;
    for (char c : key) escaped += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    return escaped;
  };
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) matches(child, pattern, pointer + "/" + escape(key), out, depth + 1);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) matches(node[i], pattern, pointer + "/" + std::to_string(i), out, depth + 1);
  }
}

bool covered(const std::string& pointer, const std::vector<broker::policy::Removal>& removed) {
  for (const auto& removal : removed) {
    if (pointer == removal.pointer || pointer.rfind(removal.pointer + "/", 0) == 0) return true;
  }
  return false;
}

bool has_position(const std::string& pattern) {
  std::size_t start = 0;
  while ((start = pattern.find('/', start)) != std::string::npos) {
    ++start;
    if (start < pattern.size() && pattern[start] >= '0' && pattern[start] <= '9') return true;
  }
  return false;
}

void check(std::string_view payload, const std::vector<SensitiveField>& sensitive,
           const std::vector<std::vector<std::string>>& projections) {
  const Json original = Json::parse(payload, nullptr, false);
  if (original.is_discarded()) {
    if (broker::policy::redact(payload, sensitive, {})) fail("redact accepted a payload that is not JSON");
    return;
  }

  // No consent: every medical field goes.
  auto plain = broker::policy::redact(payload, sensitive, {});
  if (!plain) fail("redact refused a JSON payload");
  const Json result = Json::parse(plain->payload, nullptr, false);
  if (result.is_discarded()) fail("the redacted payload is not JSON");
  for (const auto& field : sensitive) {
    if (field.sensitivity != "medical") continue;
    std::vector<std::string> found;
    matches(original, field.pattern, "", found);
    for (const auto& pointer : found) {
      if (!covered(pointer, plain->removed)) fail("a medical field of the original was not removed");
    }
    if (has_position(field.pattern)) continue;  // removals shift array positions
    found.clear();
    matches(result, field.pattern, "", found);
    if (!found.empty()) fail("a medical field is left in the redacted payload");
  }

  // A care provider without a projection gets everything.
  RecipientView care;
  care.is_care_provider = true;
  auto full = broker::policy::redact(payload, sensitive, care);
  if (!full) fail("redact refused a JSON payload for a care provider");
  if (!full->removed.empty()) fail("something was removed for a care provider without projection");
  if (Json::parse(full->payload, nullptr, false) != original) fail("a care provider's payload changed");

  // Projections keep only what they list.
  for (const auto& projection : projections) {
    RecipientView projected;
    projected.has_projection = true;
    projected.projection = projection;
    projected.consent_id = "consent-1";
    auto kept = broker::policy::redact(payload, sensitive, projected);
    if (!kept) fail("redact refused a JSON payload for a projection");
    if (Json::parse(kept->payload, nullptr, false).is_discarded()) fail("a projected payload is not JSON");
    for (const auto& removal : kept->removed) {
      if (removal.rule != "projection") fail("a consented recipient lost a field to a rule other than projection");
      for (const auto& pattern : projection) {
        if (broker::policy::pointer_matches(pattern, removal.pointer)) fail("a projection removed a field it lists");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<Target> targets = load_targets();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view name = newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? input : input.substr(newline + 1);

  const Target& target = pick(targets, name);
  check(payload, target.sensitive, target.projections);

  // Discovery on arbitrary JSON: the payload read as a schema, then redacted against its own fields.
  auto own = broker::policy::sensitive_fields(payload);
  if (own) check(payload, *own, {});
  return 0;
}
