#pragma once
// Which command lines the small `keten` executable runs itself, and which it hands to keten-full
// (exec_beside.h). Pure: argv in, a decision out, tested in tests/unit/cli.
//
// `keten` runs `keten log verify|export|replay|prove|consistency` and `keten report quality` on a
// store file or a bundle: the inspector's tools, which need SQLite, libsodium and OpenSSL's SHA-256
// and nothing of the network.
// Without the ZeroMQ, PostgreSQL, HTTP and mail libraries its start costs a few milliseconds
// instead of about 35 (docs/performance.md, "Starting the inspector's tools"). Everything else —
// every other command, --help (whose text lists them all), `--into` (a re-send through ZeroMQ) and a
// postgresql:// store — runs in keten-full, which holds every command.

#include <string>
#include <vector>

namespace keten_cli {

// `args`: the command line without argv[0].
bool runs_in_front(const std::vector<std::string>& args);

}  // namespace keten_cli
