#include "contracts/error.h"

namespace contracts {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone: return "none";
    case ErrorCode::kMalformedEnvelope: return "malformed_envelope";
    case ErrorCode::kUnknownPartner: return "unknown_partner";
    case ErrorCode::kUnknownContract: return "unknown_contract";
    case ErrorCode::kUnknownVersion: return "unknown_version";
    case ErrorCode::kNotOwner: return "not_owner";
    case ErrorCode::kRecipientNotAllowed: return "recipient_not_allowed";
    case ErrorCode::kInvalidPayload: return "invalid_payload";
    case ErrorCode::kSchemaViolation: return "schema_violation";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kStorage: return "storage";
    case ErrorCode::kTransport: return "transport";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kConfig: return "config";
    case ErrorCode::kUnknownDelivery: return "unknown_delivery";
    case ErrorCode::kProtocol: return "protocol";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kBacklogFull: return "backlog_full";
    case ErrorCode::kMessageIdTaken: return "message_id_taken";
  }
  return "unknown";
}

}  // namespace contracts
