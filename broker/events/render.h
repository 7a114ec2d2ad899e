#pragma once
// Every rendering of an event, generated from its type in this one place: the sentence replay
// shows, the text line, the JSON (the `detail` object with the field names the handover log has
// always used, and replay's event object), and the HTML card. The outputs are those today's
// replay and event_detail give for the same event (tests/unit/events/render_test.cpp compares
// them). Pure functions; thread-safe. nlohmann stays in render.cpp (json_fwd here).

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "broker/events/event.h"

namespace broker::events {

// Opens the sealed value of an evidence field of `event`: its JSON text, or nullopt when it
// cannot (no key, the wrong key, altered bytes). broker/core/evidence.h makes one from the
// broker's payload key. Renderings given none (the default) show a sealed value as "(sealed)".
using Unsealer = std::function<std::optional<std::string>(const Event& event, const Evidence& evidence)>;

// One sentence for a person, e.g. "KMAR acknowledged departure.scheduled v1 (id m-1)". An
// accepted event with evidence values ends "; evidence /a = 1, /b (sealed)"; `unseal` opens the
// sealed ones ("/b = true (sealed, opened)").
std::string describe(const Event& event, const Unsealer& unseal = {});

// The partner lane an event belongs to: the recipient for delivery events, else the sender.
std::string lane_of(const Event& event);

// Replay's text line, without the newline: time (UTC, ms), "#<seq>" padded to 7, the kind's name
// padded to 13, the sentence.
std::string text_line(const Event& event, std::uint64_t seq, const Unsealer& unseal = {});

// The event's `detail` JSON object text as a schema-4 row held it: keys in byte order, no spaces,
// invalid UTF-8 replaced by U+FFFD; "" for kinds without detail (routed, acknowledged). A
// migrated event's legacy_detail when it has one. Evidence values appear as
// "evidence":[{"pointer":..,"value":<the value>} or {"pointer":..,"sealed":"<hex>"}], never opened.
std::string detail_json(const Event& event);
// The same as a JSON value (an empty object for "").
nlohmann::json detail_object(const Event& event);

// Replay's JSON object for one event: seq, at, at_ms, event, message_id, contract, version,
// sender, recipient, delivery_id, payload_digest (hex or ""), detail (object), hash (as given),
// description; and, only when set, trace_id and span_id (hex) and processing_activity, and for an
// accepted event with evidence "evidence": [{"pointer", "sealed": bool, "value"}] where a sealed
// value is there only when `unseal` opened it.
nlohmann::json event_object(const Event& event, std::uint64_t seq, std::string_view hash,
                            const Unsealer& unseal = {});

// Replay's HTML card: <div class="card"><b>kind</b><br>sentence</div>, escaped.
std::string html_card(const Event& event, const Unsealer& unseal = {});
// The attributes of the event's table row in replay's HTML: class="event ev-<kind>"
// data-seq="<seq>" data-event="<kind>".
std::string html_row_attributes(const Event& event, std::uint64_t seq);

// Lower-case hex of bytes.
std::string hex(const std::uint8_t* bytes, std::size_t size);
template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  return hex(bytes.data(), N);
}

}  // namespace broker::events
