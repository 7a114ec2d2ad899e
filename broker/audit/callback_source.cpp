#include "broker/audit/callback_source.h"

#include "broker/events/codec.h"

namespace broker::audit {
namespace {

std::vector<LogEntry> encoded(std::vector<events::LoggedEvent> events) {
  std::vector<LogEntry> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back({e.seq, events::encode_event(e.event)});
  return out;
}

contracts::Error missing(const char* what) {
  return contracts::Error{contracts::ErrorCode::kConfig, std::string("log source: no ") + what + " function"};
}

}  // namespace

contracts::Result<std::vector<LogEntry>> CallbackLogSource::read_entries(std::uint64_t from_seq,
                                                                         std::size_t limit) const {
  if (calls_.read_entries) return calls_.read_entries(from_seq, limit);
  if (!calls_.read_events) return missing("read_entries or read_events");
  auto events = calls_.read_events(from_seq, limit);
  if (!events) return events.error();
  return encoded(std::move(*events));
}

contracts::Result<std::vector<std::string>> CallbackLogSource::read_checkpoints() const {
  if (!calls_.read_checkpoints) return missing("read_checkpoints");
  return calls_.read_checkpoints();
}

std::optional<tlog::NodeReader> CallbackLogSource::node_reader() const {
  if (!calls_.node_reader) return std::nullopt;
  return calls_.node_reader();
}

std::optional<ShortcutCheck> CallbackLogSource::shortcut_check() const {
  if (!calls_.shortcut_check) return std::nullopt;
  return calls_.shortcut_check();
}

contracts::Result<std::vector<LogEntry>> CallbackLogSource::read_case_entries(std::string_view case_ref) const {
  if (calls_.read_case_entries) return calls_.read_case_entries(case_ref);
  if (!calls_.read_case_events) return LogSource::read_case_entries(case_ref);
  auto events = calls_.read_case_events(case_ref);
  if (!events) return events.error();
  return encoded(std::move(*events));
}

contracts::Result<std::vector<LogEntry>> CallbackLogSource::read_start_entries() const {
  if (calls_.read_start_entries) return calls_.read_start_entries();
  if (!calls_.read_started_events) return LogSource::read_start_entries();
  auto events = calls_.read_started_events();
  if (!events) return events.error();
  return encoded(std::move(*events));
}

}  // namespace broker::audit
