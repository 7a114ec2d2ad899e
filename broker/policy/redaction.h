#pragma once
// What one recipient may see of a payload. Pure functions over data (no store, no sockets): the
// broker decides per delivery who the recipient is and which consent holds, and this code removes
// what that recipient may not receive and says which rule removed it. nlohmann stays in the .cpp.
//
// Field patterns are JSON pointers (RFC 6901) in which the segment `*` matches any array index or
// object key: "/escort/medical_notes", "/legs/*/wheelchair".

#include <nlohmann/json_fwd.hpp>

#include <optional>

#include <string>
#include <string_view>
#include <vector>

#include "contracts/error.h"
#include "contracts/json_spans.h"

namespace broker::policy {

struct SensitiveField {
  std::string pattern;      // where in the payload, e.g. "/medication_to_carry" or "/legs/*/notes"
  std::string sensitivity;  // the x-sensitivity value, e.g. "medical"
};

// Every property a JSON Schema (draft 7) tags with "x-sensitivity", at any depth: through
// properties, items (list and tuple form), additionalProperties, allOf/anyOf/oneOf, if/then/else and
// local $ref ("#/definitions/..", "#/$defs/.."). kConfig when the schema is not JSON.
[[nodiscard]] contracts::Result<std::vector<SensitiveField>> sensitive_fields(std::string_view schema_json);

// Who the recipient is, as far as the policy is concerned.
struct RecipientView {
  bool is_care_provider = false;       // role care-provider: receives medical fields
  std::string consent_id;              // a valid consent covering (case, recipient), or ""
  bool has_projection = false;         // the contract gives this consumer a projection
  std::vector<std::string> projection; // patterns of the fields it receives (when has_projection)
};

struct Removal {
  std::string pointer;  // the concrete pointer removed, e.g. "/legs/1/notes"
  std::string rule;     // "medical:no-consent" or "projection"
};

struct Redaction {
  std::string payload;             // the payload as this recipient receives it (JSON text)
  std::vector<Removal> removed;    // empty when nothing was removed
  std::string basis;               // why medical fields were kept: "role:care-provider",
                                   // "consent:<id>", or "" when none were kept or none exist
};

// Applies the rules: medical fields go to care providers, or to others while a consent holds;
// otherwise they are removed. A projection then keeps only the fields it lists. kInvalidPayload
// when `payload` is not JSON (the broker validated it on the way in, so that is a bug upstream).
[[nodiscard]] contracts::Result<Redaction> redact(std::string_view payload,
                                                  const std::vector<SensitiveField>& sensitive,
                                                  const RecipientView& recipient);

// What redact() needs of a payload for any recipient without a projection, worked out once per
// message (the broker does it on its intake thread when the message arrives, and keeps it for the
// deliveries that follow; docs/performance.md): the medical fields present, and the payload
// without them.
struct PreparedPayload {
  std::vector<std::string> medical;  // concrete pointers, sorted, none inside another; empty: none
  std::string without_medical;       // the payload with them removed (when `medical` is not empty)
};
[[nodiscard]] contracts::Result<PreparedPayload> prepare_payload(std::string_view payload,
                                                                 const std::vector<SensitiveField>& sensitive);
// The same from a payload already parsed (the validator's document, contracts/validator.h).
PreparedPayload prepare_parsed_payload(nlohmann::json document, const std::vector<SensitiveField>& sensitive);
// The same from the payload's spans (the validator's fast path, contracts/json_spans.h), without a
// DOM: the same pointers and, byte for byte, the same text. nullopt when that text cannot be
// written from the spans (a float in the payload): then prepare_payload().
[[nodiscard]] std::optional<PreparedPayload> prepare_from_spans(const contracts::JsonSpans& spans,
                                                                const std::vector<SensitiveField>& sensitive);
// redact() for a recipient without a projection (`recipient.has_projection` is ignored), from a
// prepared payload: the same removals, basis and, when something is removed, the same text.
// When nothing is removed the payload is `payload` as given (redact() re-serialises it).
Redaction redact_prepared(std::string_view payload, const PreparedPayload& prepared, const RecipientView& recipient);

// True when `pointer` (concrete) matches `pattern` (segments may be `*`).
bool pointer_matches(std::string_view pattern, std::string_view pointer);

}  // namespace broker::policy
