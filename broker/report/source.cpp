#include "broker/report/source.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <system_error>

#include "broker/store/sqlite_store.h"

namespace broker::report {

namespace {

using contracts::Result;
using events::LoggedEvent;

// The events from seq `first` up to the first at or after `to` (0: to the head), ascending seq,
// read typed from the store's blocks a page at a time.
Result<std::vector<LoggedEvent>> events_from(store::Store& store, std::uint64_t first, Millis to) {
  std::vector<LoggedEvent> out;
  constexpr std::size_t kPage = 10'000;
  for (std::uint64_t seq = first;;) {
    auto page = store.read_events(seq, kPage);
    if (!page) return page.error();
    for (auto& e : *page) {
      if (to != 0 && e.event.at >= to) return out;
      out.push_back(std::move(e));
    }
    if (page->size() < kPage) break;
    seq = out.back().seq + 1;
  }
  return out;
}

// Puts before the period's events the older `accepted` events of the messages the report looks
// up (messages_referenced: the period's messages and the messages its disputes name).
Result<void> add_older_acceptances(store::Store& store, const ReportQuery& query, ReportInput& input) {
  std::set<std::string> have;
  for (const auto& e : input.events) {
    if (e.event.kind() == events::Kind::kAccepted) have.insert(e.event.message_id);
  }
  std::vector<LoggedEvent> older;
  for (const auto& id : messages_referenced(input, query)) {
    if (have.count(id)) continue;
    auto event = store.accepted_event(id);
    if (!event) return event.error();
    if (*event) older.push_back(std::move(**event));
  }
  std::sort(older.begin(), older.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  older.insert(older.end(), std::make_move_iterator(input.events.begin()), std::make_move_iterator(input.events.end()));
  input.events = std::move(older);
  return {};
}

}  // namespace

Result<ReportInput> read_input(store::Store& store, const ReportQuery& query) {
  ReportInput input;
  // Without a period start the whole log (rows past the period's end too, as acceptances a
  // dispute may name); with one, the events from the first at or after it to the period's end.
  auto first = query.from == 0 ? Result<std::uint64_t>(1) : store.log_seq_since(query.from);
  if (!first) return first.error();
  auto events = events_from(store, *first, query.from == 0 ? 0 : query.to);
  if (!events) return events.error();
  input.events = std::move(*events);
  for (const auto& [seq, e] : input.events) {
    if (e.kind() != events::Kind::kAccepted || !query.contains(e.at)) continue;
    auto message = store.find_message_content(e.message_id);
    if (!message) return message.error();
    if (!*message) continue;
    if (store::is_shredded((*message)->unreadable)) {
      input.shredded.insert(e.message_id);
    } else if (!(*message)->unreadable.empty()) {
      input.sealed_unread.insert(e.message_id);
    } else {
      input.payloads.emplace(e.message_id, std::move((*message)->payload));
    }
  }
  if (query.from != 0) {
    if (auto r = add_older_acceptances(store, query, input); !r) return r.error();
  }
  return input;
}

Result<ReportInput> read_store(const std::filesystem::path& path, const ReportQuery& query,
                               std::string payload_key) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return contracts::Error{contracts::ErrorCode::kStorage, "no store file at " + path.string()};
  }
  store::StoreOptions options;
  options.path = path;
  options.read_only = true;
  options.payload_key = std::move(payload_key);
  auto store = store::SqliteStore::open(options);
  if (!store) return store.error();
  return read_input(*store, query);
}

}  // namespace broker::report
