#pragma once
// The values of a contract's evidence fields ("x-evidence": true, contracts/evidence.h) as the
// accepted event records them: a plain field's value as its JSON text, a medical field's value
// sealed like a stored payload (XChaCha20-Poly1305 under the broker's payload key,
// broker/store/seal.h), so the handover log never holds a medical value in clear. And the
// Unsealer a renderer (broker/events/render.h) needs to show a sealed value to whoever holds the key.

#include <string>
#include <string_view>
#include <vector>

#include "broker/events/event.h"
#include "broker/events/render.h"
#include "contracts/error.h"
#include "contracts/evidence.h"

namespace broker::core {

// The evidence values of `payload` (accepted, so valid JSON) for the message `message_id`, in
// the order of `fields`; a field the payload lacks is left out. A medical value is sealed under
// `payload_key` (32 raw bytes); with no key it is left out rather than written in clear (the
// broker refuses to start with sensitive contracts and no key, so only tests meet this).
// kStorage when sealing fails.
[[nodiscard]] contracts::Result<std::vector<events::Evidence>> evidence_of(
    const std::vector<contracts::EvidenceField>& fields, std::string_view payload, std::string_view message_id,
    std::string_view payload_key);

// What binds a sealed evidence value to its message and field: a label, the message id and the
// pointer, each length-prefixed. A sealed value copied to another field or message does not open.
std::string evidence_associated_data(std::string_view message_id, std::string_view pointer);

// An Unsealer that opens sealed evidence values with `payload_key` (32 raw bytes; a wrong key or
// altered bytes: the value stays "(sealed)"). The key is copied into it.
events::Unsealer evidence_unsealer(std::string payload_key);

}  // namespace broker::core
