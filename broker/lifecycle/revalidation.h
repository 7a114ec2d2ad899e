#pragma once
// Re-validation of a case's stored payloads: each against the contract text that was in force when
// it was accepted (the store's contract history), and against the newest version of its contract
// in force at a chosen moment ("today"). It answers "was this valid under the rules of the day, and
// would it be under today's?" (docs/inspector.md, "Re-validation").
//
// Reads only; the caller opens the store (read-only) and records the read.

#include <cstdint>
#include <string>
#include <vector>

#include "broker/store/contract_history.h"
#include "broker/store/sqlite_store.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::lifecycle {

// One payload checked against one contract text.
struct Check {
  bool known = false;        // a text was found (false: the store has no history for it)
  std::uint32_t version = 0;
  std::string digest;        // the text's digest
  contracts::Millis first_loaded_at = 0;
  bool valid = false;
  std::vector<contracts::FieldError> errors;  // why not valid (the schema's words)
  std::string problem;       // the text or the payload could not be used (no check made)
};

struct RevalidatedMessage {
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  contracts::Millis accepted_at = 0;
  std::string payload_digest;
  Check then;   // the text of contract v`version` in force at accepted_at
  Check today;  // the newest version of the contract in force at the report's moment
  // "same" (both valid, or both invalid), "valid_then_invalid_today", "invalid_then_valid_today",
  // or "unchecked" (a text or the payload was missing or unreadable).
  std::string difference;
  bool text_recorded_after = false;  // no text was recorded before acceptance: `then` is the earliest
};

struct RevalidationReport {
  std::string case_ref;
  contracts::Millis as_of = 0;
  std::vector<RevalidatedMessage> messages;
  std::size_t differences = 0;  // messages whose difference is not "same"
};

// Every message of `case_ref` accepted at or before `as_of`, in acceptance order. `store` must be
// able to open sealed payloads (StoreOptions::payload_key) or those messages are "unchecked".
// kStorage when the store fails.
[[nodiscard]] contracts::Result<RevalidationReport> revalidate_case(store::Store& store,
                                                                    store::ContractHistory& history,
                                                                    const std::string& case_ref,
                                                                    contracts::Millis as_of);

std::string render_text(const RevalidationReport& report);
std::string render_json(const RevalidationReport& report);

}  // namespace broker::lifecycle
