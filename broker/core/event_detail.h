#pragma once
// The `detail` JSON objects of handover-log events (docs/store-format.md lists each event's fields).
// nlohmann stays in event_detail.cpp.

#include <cstdint>
#include <string>
#include <vector>

#include "contracts/envelope.h"

namespace broker::core {

// {"code": "...", "detail": "...", "errors": [{"pointer","code","reason"}...]}
std::string rejected_detail(contracts::ErrorCode code, const std::string& detail,
                            const std::vector<contracts::FieldError>& errors);
// {"recipients": [...], "correlation_id", "causation_id", "supersedes", "occurred_at", "recorded_at",
//  "origin"}; empty fields are left out
std::string accepted_detail(const contracts::Header& header, const std::vector<std::string>& recipients);
// {"bytes": N, "connection": "..."} for a received frame
std::string received_detail(std::size_t bytes);
// {"attempt": N}
std::string attempt_detail(std::uint32_t attempt);
// {"reason": "..."}
std::string reason_detail(const std::string& reason);
// {"first_payload_digest": "...", "same_payload": bool}
std::string duplicate_detail(const std::string& first_digest, bool same_payload);

}  // namespace broker::core
