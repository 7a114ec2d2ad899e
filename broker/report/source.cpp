#include "broker/report/source.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <system_error>

#include "broker/store/sqlite_store.h"

namespace broker::report {

namespace {

// The rows from the first row at or after `from` up to the first row at or after `to` (0: to the
// head), ascending seq.
contracts::Result<std::vector<audit::LogRecord>> rows_between(store::SqliteStore& store, Millis from, Millis to) {
  auto first = store.log_seq_since(from);
  if (!first) return first.error();
  std::vector<audit::LogRecord> rows;
  constexpr std::size_t kPage = 10'000;
  for (std::uint64_t seq = *first;;) {
    auto page = store.read_log(seq, kPage);
    if (!page) return page.error();
    for (auto& row : *page) {
      if (to != 0 && row.at >= to) return rows;
      rows.push_back(std::move(row));
    }
    if (page->size() < kPage) break;
    seq = rows.back().seq + 1;
  }
  return rows;
}

// Puts before the period's rows the older `accepted` rows of the messages the report looks up
// (messages_referenced: the period's messages and the messages its disputes name).
contracts::Result<void> add_older_acceptances(store::SqliteStore& store, const ReportQuery& query, ReportInput& input) {
  std::set<std::string> have;
  for (const auto& row : input.rows) {
    if (row.event == "accepted") have.insert(row.message_id);
  }
  std::vector<audit::LogRecord> older;
  for (const auto& id : messages_referenced(input, query)) {
    if (have.count(id)) continue;
    auto row = store.accepted_event(id);
    if (!row) return row.error();
    if (*row) older.push_back(std::move(**row));
  }
  std::sort(older.begin(), older.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  older.insert(older.end(), std::make_move_iterator(input.rows.begin()), std::make_move_iterator(input.rows.end()));
  input.rows = std::move(older);
  return {};
}

}  // namespace

contracts::Result<ReportInput> read_input(store::SqliteStore& store, const ReportQuery& query) {
  ReportInput input;
  if (query.from == 0) {
    auto data = store.read_log_data();
    if (!data) return data.error();
    input.rows = std::move(data->rows);
  } else {
    auto rows = rows_between(store, query.from, query.to);
    if (!rows) return rows.error();
    input.rows = std::move(*rows);
  }
  for (const auto& row : input.rows) {
    if (row.event != "accepted" || !query.contains(row.at)) continue;
    auto message = store.find_message_content(row.message_id);
    if (!message) return message.error();
    if (!*message) continue;
    if (!(*message)->unreadable.empty()) {
      input.sealed_unread.insert(row.message_id);
    } else {
      input.payloads.emplace(row.message_id, std::move((*message)->payload));
    }
  }
  if (query.from != 0) {
    if (auto r = add_older_acceptances(store, query, input); !r) return r.error();
  }
  return input;
}

contracts::Result<ReportInput> read_store(const std::filesystem::path& path, const ReportQuery& query,
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
