#pragma once
// Export bundles: a handover log (or the part about one case or period) as one JSON Lines file
// an inspector verifies and replays without the store. Layout: docs/handover-log-format.md §6.
// nlohmann stays in bundle.cpp.

#include <string>
#include <string_view>

#include "broker/audit/log_record.h"
#include "contracts/error.h"

namespace broker::audit {

// Which rows an export carries in full; the others become "omitted" stubs (seq and hashes only),
// so the chain can still be recomputed from seq 1 to the last checkpoint.
struct ExportScope {
  std::string case_ref;  // "" = every case
  Millis from = 0;       // 0 = from the start
  Millis to = 0;         // 0 = to the end
  bool contains(const LogRecord& row) const;
};

struct Bundle {
  LogData data;
  ExportScope scope;
  Millis created_at = 0;
};

// The bundle text: header line (public key first), one line per row, checkpoints, end line.
// `data.rows` must be full rows with their hashes, ascending from seq 1.
std::string write_bundle(const LogData& data, const ExportScope& scope, Millis created_at);

// Parses a bundle. kMalformedEnvelope with "line N: ..." for a line that is not what the format
// says, and for a file that stops before its end line (truncated).
[[nodiscard]] contracts::Result<Bundle> read_bundle(std::string_view text);

}  // namespace broker::audit
