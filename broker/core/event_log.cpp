#include "broker/core/event_log.h"

#include "broker/events/legacy.h"

namespace broker::core {

contracts::Result<std::uint64_t> record_event(store::SqliteStore& store, const events::Event& event) {
  events::LegacyRow row = events::to_legacy_row(event);
  store::LogEvent e;
  e.at = row.at;
  e.event = std::move(row.event);
  e.message_id = std::move(row.message_id);
  e.contract = std::move(row.contract);
  e.version = row.version;
  e.case_ref = std::move(row.case_ref);
  e.sender = std::move(row.sender);
  e.recipient = std::move(row.recipient);
  e.delivery_id = row.delivery_id;
  e.payload_digest = std::move(row.payload_digest);
  e.detail = std::move(row.detail);
  return store.append_log(std::move(e));
}

std::optional<events::Event> event_of(const store::LogEvent& row) {
  auto event = events::from_legacy_row({row.at, row.event, row.message_id, row.contract, row.version, row.case_ref,
                                        row.sender, row.recipient, row.delivery_id, row.payload_digest, row.detail});
  if (!event) return std::nullopt;
  return std::move(*event);
}

}  // namespace broker::core
