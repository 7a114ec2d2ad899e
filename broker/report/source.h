#pragma once
// Reads what the quality report needs from a store file, opened read-only: the whole handover log
// and the payloads of the messages accepted in the period (for completeness and disputes). The
// store is not changed; no log_read row is written (the report holds counts, not case contents).

#include <filesystem>
#include <string>

#include "broker/report/quality.h"
#include "contracts/error.h"

namespace broker::report {

// Fails with kStorage naming the file when it is missing or not a Keten store.
[[nodiscard]] contracts::Result<ReportInput> read_store(const std::filesystem::path& store,
                                                        const ReportQuery& query);

}  // namespace broker::report
