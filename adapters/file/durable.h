#pragma once
// Durable file operations for the drop folders: a file appears under its final name only when it
// is complete and on disk. POSIX (open/fsync/rename/link); every failure is a Result naming the
// path and errno's text. Safe to call from any thread on different paths.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace file_adapter {

// Suffix of our own temporary files; names ending in it are never final and are removed by
// remove_stale_temporaries().
inline constexpr std::string_view kTempSuffix = ".keten-tmp";

// Creates `dir` (and parents) if missing and fsyncs each parent whose entry was created.
[[nodiscard]] contracts::Result<void> ensure_directory(const std::filesystem::path& dir);

// Writes `content` to DIR/.NAME.keten-tmp, fsyncs it, renames it to DIR/NAME (replacing an older
// file of that name atomically) and fsyncs DIR. After a crash DIR/NAME is either absent, the old
// file, or complete; never partial. `before_rename`, when set, runs between the fsync and the
// rename (tests use it to crash there).
[[nodiscard]] contracts::Result<void> write_durably(
    const std::filesystem::path& dir, const std::string& name, std::string_view content,
    const std::function<void()>& before_rename = {});

// Renames `from` to `to` (same file system) and fsyncs both folders. Fails with kStorage if `to`
// exists (never overwrites a party's file).
[[nodiscard]] contracts::Result<void> move_durably(const std::filesystem::path& from,
                                                   const std::filesystem::path& to);

// Creates an empty file at `path` if missing and fsyncs its folder. Used as a durable marker.
[[nodiscard]] contracts::Result<void> touch_durably(const std::filesystem::path& path);

// A name for `name` in `dir` that no file has yet: NAME, else STEM.2.EXT, STEM.3.EXT, ...
std::string free_name(const std::filesystem::path& dir, const std::string& name);

// Removes our own temporaries (".*.keten-tmp") left in `dir` by a crash. Returns how many.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir);

// Removes the files directly in `dir` last written before `cutoff`, except names starting with '.'
// (the delivered-message markers past their retention). Best effort, not fsync'd: a removal lost in
// a crash leaves a marker, which is harmless. Returns how many were removed.
std::size_t remove_files_older_than(const std::filesystem::path& dir, std::filesystem::file_time_type cutoff);

}  // namespace file_adapter
