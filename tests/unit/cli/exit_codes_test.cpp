// The one error-to-exit-code mapping of `keten` (broker/cli/exit_codes.h), as docs/cli.md's table
// states it: every ErrorCode has its row, and transport failures depend on whose they are.
#include "broker/cli/exit_codes.h"

#include <catch2/catch.hpp>
#include <cstdint>

using contracts::ErrorCode;
using keten_cli::exit_code;
using keten_cli::Peer;

TEST_CASE("configuration and storage errors exit 2, the operator's to fix", "[cli][exit]") {
  for (Peer peer : {Peer::kBroker, Peer::kSelf}) {
    CHECK(exit_code(ErrorCode::kConfig, peer) == keten_cli::kExitUsage);
    CHECK(exit_code(ErrorCode::kStorage, peer) == keten_cli::kExitUsage);
  }
}

TEST_CASE("a broker that cannot be reached or does not answer exits 3", "[cli][exit]") {
  CHECK(exit_code(ErrorCode::kTransport) == keten_cli::kExitUnreachable);
  CHECK(exit_code(ErrorCode::kTimeout) == keten_cli::kExitUnreachable);
  CHECK(exit_code(ErrorCode::kTransport, Peer::kBroker) == 3);
}

TEST_CASE("a command's own listener failing is a failure (1), not an unreachable broker", "[cli][exit]") {
  CHECK(exit_code(ErrorCode::kTransport, Peer::kSelf) == keten_cli::kExitFailed);
  CHECK(exit_code(ErrorCode::kTimeout, Peer::kSelf) == keten_cli::kExitFailed);
}

TEST_CASE("refusals and a damaged log exit 1; no error exits 0", "[cli][exit]") {
  CHECK(exit_code(ErrorCode::kNone) == keten_cli::kExitOk);
  for (auto code :
       {ErrorCode::kMalformedEnvelope, ErrorCode::kUnknownPartner, ErrorCode::kUnknownContract,
        ErrorCode::kUnknownVersion, ErrorCode::kNotOwner, ErrorCode::kRecipientNotAllowed, ErrorCode::kInvalidPayload,
        ErrorCode::kSchemaViolation, ErrorCode::kTooLarge, ErrorCode::kUnknownDelivery, ErrorCode::kProtocol,
        ErrorCode::kRateLimited, ErrorCode::kBacklogFull, ErrorCode::kMessageIdTaken}) {
    INFO(contracts::to_string(code));
    CHECK(exit_code(code) == keten_cli::kExitFailed);
  }
}

TEST_CASE("every error code maps to one of the four documented exit codes", "[cli][exit]") {
  // Including a code above kLastErrorCode, as a newer peer might send.
  const auto last = static_cast<unsigned>(contracts::kLastErrorCode);
  for (unsigned c = 0; c <= last + 1; ++c) {
    for (Peer peer : {Peer::kBroker, Peer::kSelf}) {
      const int e = exit_code(static_cast<ErrorCode>(static_cast<std::uint8_t>(c)), peer);
      CHECK((e >= 0 && e <= 3));
    }
  }
  CHECK(exit_code(static_cast<ErrorCode>(static_cast<std::uint8_t>(last + 1))) == keten_cli::kExitFailed);
}
