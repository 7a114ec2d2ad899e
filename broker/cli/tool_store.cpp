#include "broker/cli/tool_store.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "broker/store/pg_store.h"
#include "broker/store/sqlite_store.h"

namespace keten_cli {

contracts::Result<std::unique_ptr<broker::store::Store>> open_tool_store(const std::string& path,
                                                                         ToolStoreOptions options) {
  if (broker::store::is_postgres_url(path)) return open_postgres_tool_store(path, std::move(options));
  std::error_code ec;
  // A tool never creates a store, even one it opens to record its read.
  if (!std::filesystem::exists(path, ec)) {
    return contracts::Error{contracts::ErrorCode::kConfig, "store " + path + " does not exist"};
  }
  broker::store::StoreOptions file;
  file.path = path;
  file.read_only = options.read_only;
  file.payload_key = std::move(options.payload_key);
  auto store = broker::store::SqliteStore::open(file);
  if (!store) return store.error();
  return std::unique_ptr<broker::store::Store>(std::make_unique<broker::store::SqliteStore>(std::move(*store)));
}

}  // namespace keten_cli
