#pragma once
// Private to the store libraries (broker_store, broker_store_pg): the events of the handover log as
// a reader gets them back from their blocks (event_block.h), typed. Both stores read blocks their
// own way and hand each event's stored bytes here.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/events/codec.h"
#include "broker/events/event.h"
#include "contracts/error.h"

namespace broker::store {

// The event at `seq` from its stored bytes. kStorage naming `what` and the seq when the bytes are
// not an event (docs/store-format.md, "log_blocks").
[[nodiscard]] contracts::Result<events::Event> decode_stored_event(std::uint64_t seq, std::string_view bytes,
                                                                   std::string_view what);

// The events `each_bytes` visits, decoded in the order visited. `each_bytes(f)` calls
// f(seq, bytes) per event while f returns true, and returns Result<void>; the first event that
// does not decode ends the visit and is the error.
template <class EachBytes>
[[nodiscard]] contracts::Result<std::vector<events::LoggedEvent>> decode_stored_events(EachBytes&& each_bytes,
                                                                                       std::string_view what) {
  std::vector<events::LoggedEvent> out;
  contracts::Result<void> bad;
  auto visited = each_bytes([&](std::uint64_t seq, std::string_view bytes) {
    auto event = decode_stored_event(seq, bytes, what);
    if (!event) {
      bad = event.error();
      return false;
    }
    out.push_back({seq, std::move(*event)});
    return true;
  });
  if (!visited) return visited.error();
  if (!bad) return bad.error();
  return out;
}

}  // namespace broker::store
