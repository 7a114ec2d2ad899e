#include "broker/cli/exit_codes.h"

namespace keten_cli {

int exit_code(contracts::ErrorCode code, Peer transport) {
  using contracts::ErrorCode;
  switch (code) {
    case ErrorCode::kNone: return kExitOk;
    case ErrorCode::kConfig:
    case ErrorCode::kStorage: return kExitUsage;
    case ErrorCode::kTransport:
    case ErrorCode::kTimeout: return transport == Peer::kBroker ? kExitUnreachable : kExitFailed;
    case ErrorCode::kMalformedEnvelope:
    case ErrorCode::kUnknownPartner:
    case ErrorCode::kUnknownContract:
    case ErrorCode::kUnknownVersion:
    case ErrorCode::kNotOwner:
    case ErrorCode::kRecipientNotAllowed:
    case ErrorCode::kInvalidPayload:
    case ErrorCode::kSchemaViolation:
    case ErrorCode::kTooLarge:
    case ErrorCode::kUnknownDelivery:
    case ErrorCode::kProtocol:
    case ErrorCode::kRateLimited:
    case ErrorCode::kBacklogFull:
    case ErrorCode::kMessageIdTaken: return kExitFailed;
  }
  return kExitFailed;  // a code from a newer peer
}

}  // namespace keten_cli
