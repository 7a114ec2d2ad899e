#include "broker/report/source.h"

#include <system_error>

#include "broker/store/sqlite_store.h"

namespace broker::report {

contracts::Result<ReportInput> read_input(store::SqliteStore& store, const ReportQuery& query) {
  auto data = store.read_log_data();
  if (!data) return data.error();
  ReportInput input;
  input.rows = std::move(data->rows);
  for (const auto& row : input.rows) {
    if (row.event != "accepted" || row.at < query.from || (query.to != 0 && row.at >= query.to)) continue;
    auto message = store.find_message_content(row.message_id);
    if (!message) return message.error();
    if (*message) input.payloads.emplace(row.message_id, std::move((*message)->payload));
  }
  return input;
}

contracts::Result<ReportInput> read_store(const std::filesystem::path& path, const ReportQuery& query) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return contracts::Error{contracts::ErrorCode::kStorage, "no store file at " + path.string()};
  }
  store::StoreOptions options;
  options.path = path;
  options.read_only = true;
  auto store = store::SqliteStore::open(options);
  if (!store) return store.error();
  return read_input(*store, query);
}

}  // namespace broker::report
