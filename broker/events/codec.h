#pragma once
// The bytes of one event: a FlatBuffers `Event` (contracts/events.fbs) in canonical form, what a
// transparency-log leaf hash covers. docs/transparency-log.md, "Typed events", gives the layout
// byte for byte. Pure functions; thread-safe; flatbuffers stays in codec.cpp.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "broker/events/event.h"
#include "contracts/error.h"

namespace broker::events {

// The canonical bytes of `event`. The same event always gives the same bytes: the fields are
// written in one fixed order, every scalar is written (default or not), a text or list is left
// out when empty, an optional struct when not given.
std::string encode_event(const Event& event);

// The event in `bytes`, after the FlatBuffers verifier. kMalformedEnvelope with a detail naming
// the defect ("event: ...") when the bytes are not an event: too short, a wrong file identifier,
// the verifier refuses them, an unknown kind, a kind without its record, an enum value out of
// range, or bytes that are not the canonical encoding of what they hold (so one event has one
// leaf hash). Never crashes, whatever the bytes.
[[nodiscard]] contracts::Result<Event> decode_event(std::span<const std::byte> bytes);
[[nodiscard]] contracts::Result<Event> decode_event(std::string_view bytes);

// The kind of the event in `bytes` without decoding the rest (after the verifier); the same
// errors as decode_event except the canonical-form check.
[[nodiscard]] contracts::Result<Kind> peek_kind(std::string_view bytes);

}  // namespace broker::events
