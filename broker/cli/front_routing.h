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

// keten-inspect runs with glibc's malloc asking for transparent huge pages
// (`glibc.malloc.hugetlb=1`): a replay touches about 8 MiB of new heap, one page fault per 4 KiB
// otherwise, and faults are dear on a virtual machine (about 5 ms of a 57 ms replay;
// docs/performance.md, round 10). Where the kernel gives huge pages only on request (THP
// "madvise") this is what asks; with "never" it changes nothing. The GLIBC_TUNABLES value to run
// it with, from the caller's (`current`, null when unset): the caller's with the tunable added,
// unless it sets glibc.malloc.hugetlb itself. Written to `out` (`size` bytes, NUL-terminated);
// false when it does not fit, and then the caller's environment is left as it is.
bool inspect_tunables(const char* current, char* out, std::size_t size);

}  // namespace keten_cli
