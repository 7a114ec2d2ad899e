#pragma once
// The store a command names with --store: a SQLite file, or the PostgreSQL database of a
// postgresql:// URI (docs/high-availability.md). The inspector's tools read either the same way
// through store::Store; what only a file holds (the schema-4 chain) is read where the caller asks
// for a SqliteStore.

#include <memory>
#include <string>
#include <vector>

#include "broker/store/contract_history.h"
#include "broker/store/store.h"
#include "contracts/error.h"

namespace keten_cli {

struct ToolStoreOptions {
  bool read_only = true;    // a tool that only reads: nothing is written
  std::string payload_key;  // 32 raw bytes to open sealed payloads, "" for none
};

// Opens the store at `path`. kConfig naming the path when a file does not exist (a tool never
// creates one); the store's own error when it cannot be opened.
[[nodiscard]] contracts::Result<std::unique_ptr<broker::store::Store>> open_tool_store(const std::string& path,
                                                                                       ToolStoreOptions options);

// The PostgreSQL half of open_tool_store: tool_store_pg.cpp in keten-full; in keten-inspect
// (no libpq), tool_store_elsewhere.cpp, which runs keten-full with this command line instead.
[[nodiscard]] contracts::Result<std::unique_ptr<broker::store::Store>> open_postgres_tool_store(
    const std::string& url, ToolStoreOptions options);

// The contract history of a store open_postgres_tool_store opened (contract_history.h); empty for
// any other store. In keten-inspect, which opens no PostgreSQL store, always empty.
[[nodiscard]] contracts::Result<std::vector<broker::store::ContractText>> postgres_contract_history(
    broker::store::Store& store);

}  // namespace keten_cli
