#pragma once
// StoreLock: one broker per store, and the store's committed high-water mark.
//
// The broker (keten serve) holds an exclusive flock(2) on `<store>.lock` for as long as its store is
// open; a second broker on the same store fails to take it and is told who holds it. The kernel
// drops the lock when the holder exits, however it exits (kill -9 included), so a stale lock file
// never blocks a start. Read-only tools never take it. The file also carries the committed
// high-water mark: the handover log's head (seq and hash) after the holder's last commit. The
// store's own file cannot say that it lost its newest transactions (SQLite drops a WAL's tail after
// a bad checksum without a word), a file beside it can. Layout: docs/store-format.md, "Lock file".
//
// Threading: one thread (the store's). Movable, not copyable; closing the file releases the lock.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "contracts/error.h"

namespace broker::store {

// The head of the handover log after a commit.
struct CommitMark {
  std::uint64_t seq = 0;
  std::string hash;  // 64 hex characters
};

class StoreLock {
 public:
  // `<store>.lock` beside the store file.
  static std::filesystem::path lock_path(const std::filesystem::path& store);

  // Creates the lock file (mode 0600) if missing and takes the lock without waiting. A lock held
  // by another process: kStorage naming the holder (pid, host, since) and the lock file. The
  // previous holder's mark is read before anything is written: previous_mark().
  [[nodiscard]] static contracts::Result<StoreLock> acquire(const std::filesystem::path& store);

  StoreLock(StoreLock&&) noexcept;
  StoreLock& operator=(StoreLock&&) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  ~StoreLock();

  // The mark the last holder left: nullopt when there is none (a new lock file, or one written
  // by hand); `unreadable` says why a mark that is there could not be read.
  const std::optional<CommitMark>& previous_mark() const { return previous_; }
  const std::string& unreadable() const { return unreadable_; }

  // Writes this holder's record (pid, host, start time, `mark`) over the file. Call once the store
  // passed its checks.
  [[nodiscard]] contracts::Result<void> claim(const CommitMark& mark, std::int64_t since_ms);
  // Rewrites the mark in place (one pwrite of a fixed-size line at the start of the file, no
  // fsync: the mark may lag the store after a power loss, never lead it). Errors are logged once
  // and otherwise ignored: the mark is a check, not the data.
  void record(const CommitMark& mark);

  const std::filesystem::path& path() const { return path_; }

 private:
  StoreLock(int fd, std::filesystem::path path);
  int fd_ = -1;
  std::filesystem::path path_;
  std::optional<CommitMark> previous_;
  std::string unreadable_;
  bool record_failed_ = false;
};

}  // namespace broker::store
