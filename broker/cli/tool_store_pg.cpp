// open_tool_store's PostgreSQL half (tool_store.h), in keten-full: libpq comes with it. The small
// `keten` links tool_store_elsewhere.cpp instead.
#include "broker/cli/tool_store.h"

#include <utility>

#include "broker/store/pg_store.h"

namespace keten_cli {

contracts::Result<std::unique_ptr<broker::store::Store>> open_postgres_tool_store(const std::string& url,
                                                                                  ToolStoreOptions options) {
  // Not fenced: a tool is not the leader. A tool that appends (its log_read event) leaves the
  // signing to the leader's next checkpoint, as on a file.
  broker::store::PgStoreOptions pg;
  pg.conninfo = url;
  pg.read_only = options.read_only;
  pg.payload_key = std::move(options.payload_key);
  auto store = broker::store::PgStore::open(pg);
  if (!store) return store.error();
  return std::unique_ptr<broker::store::Store>(std::make_unique<broker::store::PgStore>(std::move(*store)));
}

contracts::Result<std::vector<broker::store::ContractText>> postgres_contract_history(broker::store::Store& store) {
  if (!dynamic_cast<broker::store::PgStore*>(&store)) return std::vector<broker::store::ContractText>{};
  auto history = broker::store::ContractHistory::open(store, true);
  if (!history) return history.error();
  return history->all();
}

}  // namespace keten_cli
