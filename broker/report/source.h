#pragma once
// Reads what the quality report needs from a store, opened read-only: the handover log's rows
// and the payloads of the messages accepted in the period (for completeness and disputes). The
// store is not changed here (`keten report quality` records its read afterwards, read_record.h).
// With a period start (`query.from` > 0) only the rows from there to the period's end (or the
// head) are read, plus the
// older `accepted` rows of the messages they mention or their disputes name (messages_referenced;
// through the message index), so that a
// scheduled report's cost follows its period, not the log's length; the report is the same as
// from the whole log as long as the broker's clock never stepped back across the period's start
// or end.

#include <filesystem>
#include <string>

#include "broker/report/quality.h"
#include "contracts/error.h"

namespace broker::store {
class Store;
}

namespace broker::report {

// The payloads are opened with the store's payload key. The same from a store already open (the broker's own handle, between its transactions): what a
// scheduled publication uses.
[[nodiscard]] contracts::Result<ReportInput> read_input(store::Store& store, const ReportQuery& query);

// Fails with kStorage naming the file when it is missing or not a Keten store. `payload_key` (32 raw
// bytes, or "") opens sealed payloads; without it those messages are listed in
// ReportInput::sealed_unread and their completeness is reported as not read.
[[nodiscard]] contracts::Result<ReportInput> read_store(const std::filesystem::path& store, const ReportQuery& query,
                                                        std::string payload_key = {});

}  // namespace broker::report
