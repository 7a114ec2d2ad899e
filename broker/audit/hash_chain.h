#pragma once
// The handover log's hash chain: the canonical byte encoding of a row, the row and link hashes,
// and verification of a whole log against its signed checkpoints. Pure functions, thread-safe.
// The exact encoding is in docs/handover-log-format.md; change both together.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/log_record.h"

namespace broker::audit {

// 64 zeros: the prev_hash of the first row.
extern const std::string kGenesisHash;

// The bytes that are hashed for one row (docs/handover-log-format.md §2).
std::string encode_row(const LogRecord& row);
// Hex SHA-256 of encode_row(row).
std::string content_hash(const LogRecord& row);
// Hex SHA-256 of the 32 bytes of prev_hash followed by the 32 bytes of content_hash (both hex).
// Returns "" when either is not 64 hex characters.
std::string link_hash(std::string_view prev_hash, std::string_view content_hash);
// Fills row.prev_hash and row.hash for a row that follows a row whose hash is `prev_hash`.
void seal(LogRecord& row, const std::string& prev_hash);

struct VerifyOptions {
  // Hex Ed25519 public key the checkpoints must be signed with; "" = the key the log states.
  std::string expected_public_key;
};

struct VerifyReport {
  bool ok = true;
  std::uint64_t first_bad_seq = 0;  // set when !ok
  std::string problem;              // one sentence, set when !ok
  std::uint64_t rows = 0;           // rows checked (including omitted stubs)
  std::uint64_t last_seq = 0;
  std::string head_hash;
  std::uint64_t signed_up_to = 0;   // log_seq of the latest checkpoint that verified
  std::size_t checkpoints = 0;
  std::string public_key;           // the key the checkpoints were checked with
  // What was checked: "chain" (verify_log: every row from seq 1, linked, and the checkpoints),
  // "rows" (verify_rows: only the rows given, each against its own prev_hash) or "proofs" (a v2
  // log: one case's events, each by an inclusion proof against one signed checkpoint;
  // case_proofs.h).
  std::string scope = "chain";
  std::uint64_t proven = 0;   // scope "proofs": events proven; rows - proven came after the checkpoint
  bool key_from_log = false;  // scope "proofs": checked with the key the log (or bundle) itself states
};

// Recomputes the chain from seq 1 and checks every checkpoint. Stops at the first problem in the
// rows; a checkpoint problem is reported at its seq when the rows are sound. Rows after the last
// checkpoint are checked but not signed: `signed_up_to < last_seq` is not a failure.
VerifyReport verify_log(const LogData& data, const VerifyOptions& options = {});

// Checks each of `rows` (ascending seq, e.g. one case's rows read through the case index) on its
// own: its hash must be link_hash(prev_hash, content_hash(row)). It does not show that the rows
// are linked to each other or to a checkpoint (the rows between them are not read): a fast,
// partial check whose report says so (scope "rows"); verify_log is the full one.
VerifyReport verify_rows(const std::vector<LogRecord>& rows);

}  // namespace broker::audit
