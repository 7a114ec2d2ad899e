#pragma once
// The handover-log events' common columns and their `detail` JSON objects (docs/store-format.md lists each event's fields).
// nlohmann stays in event_detail.cpp.

#include <cstdint>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/log_record.h"
#include "broker/core/options.h"
#include "broker/core/routing.h"
#include "contracts/envelope.h"

namespace contracts {
struct NormViolation;
}

namespace broker::core {

// A handover-log row about one message: event name, time and the message's identifying columns
// (id, contract, version, case, sender, payload digest). Callers add recipient, delivery and detail.
audit::LogRecord message_event(const char* name, const contracts::Header& header, const std::string& sender,
                               const std::string& payload_digest, contracts::Millis at);

// {"code": "...", "detail": "...", "errors": [{"pointer","code","reason"}...]}
std::string rejected_detail(contracts::ErrorCode code, const std::string& detail,
                            const std::vector<contracts::FieldError>& errors);
// {"recipients": [...], "correlation_id", "causation_id", "supersedes", "occurred_at", "recorded_at",
//  "origin", "skipped": [{"partner","reason"}], "assurance"}; empty fields are left out. `skipped`:
//  consumers left out because they do not take this contract version; `assurance`: how the sender
//  reached the broker (assurance_of in pipeline.h)
std::string accepted_detail(const contracts::Header& header, const std::vector<std::string>& recipients,
                            const std::vector<Skipped>& skipped = {}, std::string_view assurance = {});
// {"bytes": N, "connection": "..."} for a received frame
std::string received_detail(std::size_t bytes);
// {"attempt": N}
std::string attempt_detail(std::uint32_t attempt);
// {"removed": [{"pointer","rule"}...], "basis": "role:care-provider" | "consent:<id>" | ""}: a policy
// decision for one delivery; names fields and rules, never values
std::string policy_detail(const std::vector<std::pair<std::string, std::string>>& removed, const std::string& basis);
// {"reason": "..."}
std::string reason_detail(const std::string& reason);
// {"attempt": N, "reason": "..."}: an `undelivered` event (the frame of that attempt never left)
std::string undelivered_detail(std::uint32_t attempt, const std::string& reason);
// {"first_payload_digest": "...", "same_payload": bool}
std::string duplicate_detail(const std::string& first_digest, bool same_payload);

// {"norm", "kind", "state": "open"|"closed", "due_at", "done_at" (0 while open), "by_ms" (how late),
//  "expected_contract" (follow-ups), "late_party" (who was late), "explanation", "key" (the
//  obligation), "corrects" (the first message of a correction chain, whose obligation this is),
//  and for closed ones "was_open" (the same obligation was logged open before, so this row is not
//  a new violation)}: a `norm_violated` event; the recipient is the row's own column
std::string norm_violation_detail(const contracts::NormViolation& violation, bool was_open,
                                  const std::string& key = "", const std::string& corrects = "");

// Hex SHA-256 of the configuration as the broker uses it (listen, store, contracts, limits,
// partners with role and public key, the signing public key); secret keys are left out.
std::string config_digest(const BrokerOptions& options, const std::string& signing_public_key);
// Hex SHA-256 over the contract set folder: for each regular file, sorted by name, the line
// "<name> <hex sha256 of its bytes>\n". "" when the folder cannot be read.
std::string contract_set_digest(const std::filesystem::path& folder);
// {"config_digest", "contracts_digest", "config_changed", "contracts_changed", "signing_key",
//  "partners": N, "contracts": N}: the `started` event, compared with the previous `started`
// event's detail ("" when there was none).
std::string started_detail(const std::string& config_digest, const std::string& contracts_digest,
                           const std::string& signing_public_key, std::size_t partners,
                           std::size_t contracts, const std::string& previous_detail);

}  // namespace broker::core
