#include "broker/store/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/store/sqlite_handle.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

Error fail(const std::filesystem::path& path, std::string_view what, sqlite3* db) {
  return Error{ErrorCode::kStorage, path.string() + ": " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "")};
}

Result<BackupStats> copy_pages(const std::filesystem::path& source, const std::filesystem::path& target) {
  std::error_code ec;
  if (!std::filesystem::exists(source, ec)) return Error{ErrorCode::kStorage, source.string() + ": no such store"};
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(source.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbHandle from(raw);
  if (rc != SQLITE_OK) return fail(source, "open", raw);
  sqlite3_busy_timeout(raw, 10'000);
  raw = nullptr;
  rc = sqlite3_open_v2(target.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  DbHandle to(raw);
  if (rc != SQLITE_OK) return fail(target, "open", raw);
  sqlite3_backup* backup = sqlite3_backup_init(to.get(), "main", from.get(), "main");
  if (!backup) return fail(target, "start backup", to.get());
  // All pages in one step: one read transaction on the source, so the copy is one commit's state
  // and is never restarted by the broker's writes (a step-by-step copy would be).
  for (;;) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      sqlite3_sleep(50);
      continue;
    }
    break;
  }
  BackupStats stats;
  stats.pages = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return Error{ErrorCode::kStorage, source.string() + ": backup: " + sqlite3_errstr(rc)};
  // The copy keeps the store's WAL mode (a store is opened only in WAL mode); its -wal is folded
  // into the file and removed when this connection closes, so the copy is one file.
  stats.bytes = static_cast<std::int64_t>(std::filesystem::file_size(target, ec));
  // What the copy holds, and SQLite's page check of it (the log is verified by the caller).
  struct { const char* sql; std::int64_t* count; std::string* text; } reads[] = {
      {"SELECT count(*) FROM messages", &stats.messages, nullptr},
      {"SELECT coalesce(max(first_seq + count - 1), 0) FROM log_blocks", &stats.log_rows, nullptr},
      {"PRAGMA quick_check", nullptr, &stats.quick_check},
  };
  for (auto& read : reads) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(to.get(), read.sql, -1, &stmt, nullptr) != SQLITE_OK) return fail(target, read.sql, to.get());
    StmtHandle owned(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (read.count) *read.count = sqlite3_column_int64(stmt, 0);
      if (read.text) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        if (!read.text->empty()) *read.text += "; ";
        *read.text += p ? p : "";
      }
    }
    if (rc != SQLITE_DONE) return fail(target, read.sql, to.get());
  }
  return stats;
}

}  // namespace

Result<BackupStats> backup_store(const std::filesystem::path& source, const std::filesystem::path& target) {
  // The copy holds the same personal data as the store: 0600 from the start, and never over a file.
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error{ErrorCode::kStorage, target.string() + ": cannot create: " + std::strerror(errno)};
  ::close(fd);
  auto stats = copy_pages(source, target);
  if (!stats) {
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::filesystem::remove(target.string() + suffix, ec);
  }
  return stats;
}

}  // namespace broker::store
