#pragma once
// The exit codes every `keten` subcommand shares, and the one mapping from an error's kind to an
// exit code (docs/cli.md, "Exit codes": its tables and this file say the same).

#include <cstdint>

#include "contracts/error.h"

namespace keten_cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // rejected, problems found, verification failed
inline constexpr int kExitUsage = 2;        // bad arguments or configuration; a file or store unusable
inline constexpr int kExitUnreachable = 3;  // broker unreachable or no answer in time

// Whose failure a transport or timeout error is.
enum class Peer : std::uint8_t {
  kBroker,  // the broker the command talks to (send, recv, the adapters, log resend): unreachable
  kSelf,    // the command's own listener (serve, console): the command failed
};

// kNone -> 0; kConfig, kStorage -> 2; kTransport, kTimeout -> 3 (or 1 for Peer::kSelf); every
// other kind (a refusal, a damaged log) -> 1.
int exit_code(contracts::ErrorCode code, Peer transport = Peer::kBroker);

}  // namespace keten_cli
