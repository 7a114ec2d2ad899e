#pragma once
// Receipt files: what a partner keeps of a receipt so that it can later check the log without
// trusting the operator. One JSON object per file, docs/handover-log-format.md "Receipt files":
// the broker's signed receipt (message id, status, code, payload digest, seq, time, Ed25519
// signature) and a signed checkpoint note of a tree that holds the event. nlohmann stays in the
// .cpp. Pure functions; thread-safe.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::audit {

struct ReceiptFile {
  std::string name;            // where it came from (a file name), for findings
  contracts::Receipt receipt;  // message_id, status, code, payload_digest, log_seq, accepted_at, signature
  std::string checkpoint;      // the signed checkpoint note that came with it
};

// The file text of `receipt` with `checkpoint_note`: one JSON object and a newline.
std::string format_receipt_file(const contracts::Receipt& receipt, std::string_view checkpoint_note);
// The receipt file in `text`; kMalformedEnvelope "<name>: ..." naming the missing or malformed
// field. Never throws.
[[nodiscard]] contracts::Result<ReceiptFile> parse_receipt_file(std::string_view text, std::string name);
// Every regular file in `dir` whose name ends in ".json", in name order, parsed. kConfig when the
// folder cannot be read; a file that does not parse is kMalformedEnvelope naming it.
[[nodiscard]] contracts::Result<std::vector<ReceiptFile>> read_receipt_dir(const std::filesystem::path& dir);

}  // namespace broker::audit
