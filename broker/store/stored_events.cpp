#include "broker/store/stored_events.h"

#include <string>

namespace broker::store {

contracts::Result<events::Event> decode_stored_event(std::uint64_t seq, std::string_view bytes, std::string_view what) {
  auto event = events::decode_event(bytes);
  if (!event) {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            std::string(what) + ": handover log event seq " + std::to_string(seq) +
                                " is corrupt (its bytes are not an event): " + event.error().detail};
  }
  return event;
}

}  // namespace broker::store
