#pragma once
// Evidence fields: the payload fields a contract marks `"x-evidence": true` in its schema, whose
// values the broker copies into the accepted event, so that the handover log and a case bundle
// answer an inspector's question without the payloads (docs/contracts.md, "Evidence fields").
// nlohmann stays in evidence.cpp.

#include <string>
#include <string_view>
#include <vector>

#include "contracts/error.h"

namespace contracts {

struct EvidenceField {
  std::string pointer;  // JSON pointer of the property, e.g. "/legs/arrival/latest_arrival_at"
  bool medical = false;  // the property or an enclosing one has "x-sensitivity": its value is sealed
  bool operator==(const EvidenceField&) const = default;
};

// Every property of a JSON Schema (draft 7) marked "x-evidence": true, found through
// "properties" at any depth, in pointer order (property names sorted at each level); an array or
// object property is marked as a whole (its value is the list or object). kConfig naming the place when the schema is not JSON, when "x-evidence" is not a
// boolean, or when it appears where no single pointer reaches (under items, allOf/anyOf/oneOf,
// additionalProperties or definitions).
[[nodiscard]] Result<std::vector<EvidenceField>> evidence_fields(std::string_view schema_json);

// The value of one evidence field in a payload: its compact JSON text (keys sorted, as nlohmann
// writes it).
struct EvidenceValue {
  std::string pointer;
  std::string json;
  bool medical = false;
};

// The values `fields` point at in `payload` (valid JSON, as the validator accepted it), in the
// order of `fields`; a field the payload does not hold is left out. Empty when the payload is not
// JSON.
std::vector<EvidenceValue> evidence_values(const std::vector<EvidenceField>& fields, std::string_view payload);

}  // namespace contracts
