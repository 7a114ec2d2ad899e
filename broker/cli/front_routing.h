#pragma once
// Which executable runs a `keten` command line: keten-inspect, the inspector's tools, or
// keten-full, every command. Pure: argv in, a decision out; no allocation and nothing of the C++
// runtime, so that `keten` (dispatch_main.cpp) loads nothing but libc. Tested in tests/unit/cli.
//
// keten-inspect runs `keten log verify|export|replay|prove|consistency` and `keten report quality`
// on a store file or a bundle: the inspector's tools, which need SQLite, libsodium and OpenSSL's
// SHA-256 and nothing of the network. Without the ZeroMQ, PostgreSQL, HTTP and mail libraries it
// starts in about 8 ms instead of about 35 (docs/performance.md, "Starting the inspector's
// tools"). Everything else — every other command, --help (whose text lists them all), `--into`
// (a re-send through ZeroMQ) and a postgresql:// store — runs in keten-full. When in doubt,
// keten-full: it runs every command line.

#include <cstddef>

namespace keten_cli {

// `argv[0]` is the program; the command line is argv[1..argc).
bool runs_in_inspect(int argc, const char* const* argv);

}  // namespace keten_cli
