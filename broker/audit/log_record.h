#pragma once
// The handover log as plain values: one row, one signed checkpoint, and a whole log (from a store
// or an export bundle). docs/handover-log-format.md defines every field and how it is hashed.

#include <cstdint>
#include <string>
#include <vector>

#include "contracts/envelope.h"

namespace broker::audit {

using contracts::Millis;

// One handover-log row. `event` is one of the names in docs/handover-log-format.md.
struct LogRecord {
  std::uint64_t seq = 0;     // position in the log, 1, 2, 3, ... (assigned by the store)
  Millis at = 0;             // broker time of the event
  std::string event;
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  std::string case_ref;
  std::string sender;
  std::string recipient;
  std::int64_t delivery_id = 0;
  std::string payload_digest;  // hex SHA-256 of the payload, "" when none
  std::string detail;          // JSON object text, or ""
  std::string prev_hash;       // hex; the previous row's `hash` (64 zeros before the first row)
  std::string hash;            // hex; SHA-256(prev_hash bytes || content hash bytes)
  // Bundles only: a row outside the export's scope. Its fields are empty; seq, prev_hash, hash and
  // content_hash are enough to recompute the chain through it.
  bool omitted = false;
  std::string content_hash;    // hex; set for omitted rows (computed on demand for others)

  bool operator==(const LogRecord&) const = default;
};

// A signed statement by the broker: "the log up to `log_seq` has head hash `head_hash`".
struct Checkpoint {
  std::int64_t id = 0;         // the store's row id
  Millis at = 0;               // broker time of signing
  std::uint64_t log_seq = 0;   // the last row covered
  std::string head_hash;       // hex; `hash` of row `log_seq`
  std::string public_key;      // hex Ed25519 public key of the signer
  std::string signature;       // hex Ed25519 signature of checkpoint_message()
};

// A log as read from a store or a bundle.
struct LogData {
  std::string public_key;      // hex; the broker's signing key as the source states it ("" if none)
  std::vector<LogRecord> rows;            // ascending seq
  std::vector<Checkpoint> checkpoints;    // ascending
  // The highest seq the source says was ever assigned (store: sqlite_sequence; bundle: its
  // header). A log that ends below it lost its tail. 0 = not known.
  std::uint64_t high_water = 0;
};

}  // namespace broker::audit
