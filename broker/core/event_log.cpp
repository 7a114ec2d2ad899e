#include "broker/core/event_log.h"

#include "broker/events/legacy.h"

namespace broker::core {

contracts::Result<std::uint64_t> record_event(store::Store& store, const events::Event& event) {
  return store.append_event(event);
}

std::optional<events::Event> event_of(const store::LogEvent& row) {
  auto event = events::from_legacy_row({row.at, row.event, row.message_id, row.contract, row.version, row.case_ref,
                                        row.sender, row.recipient, row.delivery_id, row.payload_digest, row.detail});
  if (!event) return std::nullopt;
  return std::move(*event);
}

}  // namespace broker::core
