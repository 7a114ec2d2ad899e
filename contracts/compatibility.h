#pragma once
// Schema compatibility between versions of a contract, as a schema registry checks it: which
// changes between two JSON Schemas (draft 7) break old readers or old data, and whether a contract's
// declared mode allows them. Pure functions over schema text; no files, no registry.
// Rules and examples: docs/contracts.md, "Versions and compatibility".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/error.h"

namespace contracts {

// The `compatibility` key of a contract file. BACKWARD: every payload valid under the previous
// version is valid under this one (consumers can upgrade first). FORWARD: every payload valid under
// this version is valid under the previous one (producers can upgrade first). FULL: both. The
// transitive modes compare against every earlier version, not just the previous one. NONE: no check.
enum class CompatibilityMode {
  kBackward,
  kForward,
  kFull,
  kBackwardTransitive,
  kForwardTransitive,
  kFullTransitive,
  kNone,
};

// "BACKWARD", "FULL_TRANSITIVE", ...; nullopt for anything else (case-sensitive).
std::optional<CompatibilityMode> parse_compatibility_mode(std::string_view text);
std::string_view to_string(CompatibilityMode mode);

// One difference between an old and a new schema and the directions it breaks.
struct SchemaChange {
  enum class Kind {
    kPropertyAdded,
    kPropertyRemoved,
    kBecameRequired,
    kBecameOptional,
    kTypeNarrowed,
    kTypeWidened,
    kTypeChanged,  // narrowed and widened at once (string -> integer)
    kEnumNarrowed,
    kEnumWidened,
    kPatternChanged,
    kFormatChanged,
    kBoundNarrowed,  // minimum, maxLength, ... tightened, or uniqueItems added
    kBoundWidened,
    kClosed,  // additionalProperties became false
    kOpened,  // additionalProperties false was dropped
    kSensitivityAdded,
    kSensitivityRemoved,
    kOtherChange,  // a keyword the checker does not reason about (allOf, if, oneOf, ...) changed
  };
  Kind kind = Kind::kOtherChange;
  std::string pointer;          // where in the payload: "/escort_level", "/connections/*/std", ""
  bool breaks_backward = true;  // a payload valid under the old schema may fail the new one
  bool breaks_forward = true;   // a payload valid under the new schema may fail the old one
  std::string explanation;      // what changed, in plain words, without the direction
};

std::string_view to_string(SchemaChange::Kind kind);

// Every difference between `old_schema` and `new_schema` (JSON text), in payload order. Local
// `$ref`s are followed. A change of medical tagging breaks both directions: it changes who may see
// the field. Keywords other than type, enum, const, properties, required, additionalProperties,
// items, pattern, format, the numeric/length/count bounds and uniqueItems are compared as a whole
// and any difference is kOtherChange, which breaks both directions. kConfig if either is not JSON.
[[nodiscard]] Result<std::vector<SchemaChange>> compare_schemas(std::string_view old_schema,
                                                                std::string_view new_schema);

// True when `mode` allows `change` between two versions it compares.
bool is_allowed(const SchemaChange& change, CompatibilityMode mode);

// A sentence on why `change` is refused under `mode`, e.g. "breaks BACKWARD: a payload valid under
// v1 can be refused by v2".
std::string describe_break(const SchemaChange& change, CompatibilityMode mode,
                           std::uint32_t old_version, std::uint32_t new_version);

// One version of a contract, for check_versions.
struct VersionedSchema {
  std::uint32_t version = 0;
  std::string schema_json;
  CompatibilityMode mode = CompatibilityMode::kBackward;  // declared by this version
};

struct CompatibilityProblem {
  std::uint32_t old_version = 0;
  std::uint32_t new_version = 0;
  CompatibilityMode mode = CompatibilityMode::kBackward;  // the newer version's mode
  SchemaChange change;
};

// Checks each version (sorted ascending by version) against the version before it or, for a
// transitive mode, against every earlier version, under the mode the newer version declares.
// Returns every change that mode does not allow; empty = compatible.
std::vector<CompatibilityProblem> check_versions(const std::vector<VersionedSchema>& versions);

}  // namespace contracts
