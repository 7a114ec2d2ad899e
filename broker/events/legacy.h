#pragma once
// Schema-4 handover-log rows (an `event` name and a JSON `detail` text beside the common columns,
// docs/handover-log-format.md §1) to typed events and back: what the in-place migration of a
// schema-4 store uses, and what lets it recompute the old hash chain from the typed events.
// Pure functions; thread-safe; nlohmann stays in legacy.cpp.

#include <cstdint>
#include <string>

#include "broker/events/event.h"
#include "contracts/error.h"

namespace broker::events {

// A schema-4 row's columns 2..12 (seq and the hashes stay with the caller). The same columns as
// broker::audit::LogRecord's, kept as a copy on purpose: broker_events depends on `contracts` only,
// and broker_audit's replay is one of the readers that move to these events next (README.md), so
// broker_audit is to depend on broker_events; using LogRecord here would make that a cycle. A
// caller holding a LogRecord copies the columns (tests/unit/events/todays_rows.h, `legacy`).
struct LegacyRow {
  Millis at = 0;
  std::string event;
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  std::string case_ref;
  std::string sender;
  std::string recipient;
  std::int64_t delivery_id = 0;
  std::string payload_digest;  // "" or 64 lower-case hex characters
  std::string detail;          // JSON object text or ""
  bool operator==(const LegacyRow&) const = default;
};

// The typed event of `row`. Every field the row's detail holds goes into the kind's record under
// the same name. When the record does not render back to the row's detail byte for byte (a
// detail written by an older broker, a field of an unexpected type, text that is not JSON), the
// event also keeps the detail text as `legacy_detail`, so no row loses anything; the rows the
// current broker writes never need it.
// kMalformedEnvelope naming the row's defect when it cannot be typed: an event name that is no
// kind, or a payload_digest that is neither "" nor 64 lower-case hex characters.
[[nodiscard]] contracts::Result<Event> from_legacy_row(const LegacyRow& row);

// The row an event was (or would have been) in schema 4: `to_legacy_row(*from_legacy_row(r)) == r`
// for every row from_legacy_row accepts.
LegacyRow to_legacy_row(const Event& event);

}  // namespace broker::events
