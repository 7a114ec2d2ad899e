#pragma once
// WAL writes gathered into one. SQLite writes each frame of a commit to its write-ahead log with
// two pwrite calls, a 24-byte frame header and then the page, at offsets that are not page
// aligned. So a commit of 40 frames is 80 small writes into partly written pages. On ext4 in
// this project's virtual machines those cost about ten times one write of the same bytes
// (docs/performance.md, round 7). The "keten-wal" VFS wraps the default one and keeps a log's
// consecutive writes in memory until SQLite next syncs, reads, truncates, sizes or closes the log,
// and then writes them with one pwrite.
//
// Only for synchronous=FULL: there SQLite syncs the log at every commit, before the commit is
// published to readers or returned to the caller. So everything a commit wrote reaches the kernel
// before any reader or the broker can rely on it. A crash before the sync loses only frames of a
// transaction that had not committed, which SQLite's recovery ignores anyway. Files other than
// write-ahead logs (the database, its shared memory) are the default VFS's own, untouched.
//
// Threading: each open log is used by one SQLite connection, as SQLite uses its files; the
// registration is thread-safe.

namespace broker::store {

// The VFS name for sqlite3_open_v2. It is registered (not as the default) on the first call.
const char* wal_gathering_vfs();

}  // namespace broker::store
