#pragma once
// The one place the broker core hands a handover-log event to the store. Every component of
// broker/core builds an events::Event (event_builders.h) and calls record_event; none writes a
// row or a detail string itself.
// The store appends it to the Merkle tree as it is (Store::append_event): no row, no JSON.

#include <cstdint>
#include <optional>

#include "broker/events/event.h"
#include "broker/store/sqlite_store.h"
#include "contracts/error.h"

namespace broker::core {

// Appends `event` to the handover log in the store's open transaction. Its seq (1-based), or the
// store's error (the caller rolls the transaction back).
[[nodiscard]] contracts::Result<std::uint64_t> record_event(store::Store& store, const events::Event& event);

// The typed event of a row the store gave back; nullopt when the row names no event kind.
std::optional<events::Event> event_of(const store::LogEvent& row);

}  // namespace broker::core
