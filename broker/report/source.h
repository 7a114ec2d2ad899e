#pragma once
// Reads what the quality report needs from a store file, opened read-only: the whole handover log
// and the payloads of the messages accepted in the period (for completeness and disputes). The
// store is not changed; no log_read row is written (the report holds counts, not case contents).

#include <filesystem>
#include <string>

#include "broker/report/quality.h"
#include "contracts/error.h"

namespace broker::store {
class SqliteStore;
}

namespace broker::report {

// The same from a store already open (the broker's own handle, between its transactions): what a
// scheduled publication uses. Reads the whole log (read_log_data) and the period's payloads.
[[nodiscard]] contracts::Result<ReportInput> read_input(store::SqliteStore& store, const ReportQuery& query);

// Fails with kStorage naming the file when it is missing or not a Keten store.
[[nodiscard]] contracts::Result<ReportInput> read_store(const std::filesystem::path& store,
                                                        const ReportQuery& query);

}  // namespace broker::report
