// The "keten-wal" VFS (broker/store/wal_gathering.h): a writer that gathers its log writes must
// leave exactly what SQLite's own VFS would. Every commit is readable at once by a connection on
// the default VFS, a rolled-back transaction leaves nothing, and a log written in pieces larger
// than what one write of the unix VFS takes reads back intact.
#include "broker/store/wal_gathering.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/support/temp_dir.h"

namespace {

struct Db {
  sqlite3* db = nullptr;
  Db(const std::string& path, int flags, const char* vfs) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, flags, vfs) == SQLITE_OK);
  }
  ~Db() { sqlite3_close(db); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) const {
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string detail = error ? error : "";
    sqlite3_free(error);
    INFO(sql << ": " << detail);
    REQUIRE(rc == SQLITE_OK);
  }

  std::string text(const std::string& sql) const {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    const auto* value = sqlite3_column_text(stmt, 0);
    std::string out = value ? reinterpret_cast<const char*>(value) : "";
    sqlite3_finalize(stmt);
    return out;
  }

  // Inserts `rows` rows of `bytes` bytes each, the row's number repeated, in one transaction.
  void insert(int first, int rows, int bytes) const {
    exec("BEGIN");
    for (int i = first; i < first + rows; ++i) {
      exec("INSERT INTO t(id, body) VALUES (" + std::to_string(i) + ", printf('%.*c', " + std::to_string(bytes) +
           ", char(65 + " + std::to_string(i) + " % 26)))");
    }
    exec("COMMIT");
  }
};

// What a reader sees of the table: the rows, their bytes, and a digest of their contents.
std::string summary(const Db& db) {
  return db.text(
      "SELECT count(*) || ' ' || coalesce(sum(length(body)), 0) || ' ' || "
      "coalesce(sum(unicode(substr(body, length(body))) * id), 0) FROM t");
}

std::string expected(int rows, int bytes) {
  long long digest = 0;
  for (int i = 0; i < rows; ++i) digest += static_cast<long long>(65 + i % 26) * i;
  return std::to_string(rows) + " " + std::to_string(static_cast<long long>(rows) * bytes) + " " +
         std::to_string(digest);
}

}  // namespace

TEST_CASE("every commit through the gathering VFS is readable at once by a connection on the default VFS",
          "[store][wal]") {
  test_support::TempDir dir;
  const std::string path = (dir / "w.db").string();
  Db writer(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, broker::store::wal_gathering_vfs());
  writer.exec("PRAGMA journal_mode=WAL");
  writer.exec("PRAGMA synchronous=FULL");
  writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
  Db reader(path, SQLITE_OPEN_READONLY, nullptr);

  // Transactions from one row to several MiB of frames: the gathered writes cross the unix VFS's
  // 128 KiB limit per write and the VFS's own 4 MiB bound, so pieces and early writes both occur.
  int rows = 0;
  const int bytes = 3000;
  for (int batch : {1, 2, 30, 45, 60, 200, 1500, 3}) {
    writer.insert(rows, batch, bytes);
    rows += batch;
    REQUIRE(summary(reader) == expected(rows, bytes));
  }

  // A rolled-back transaction larger than the bound leaves nothing behind, and the next commit,
  // written over the same log offsets, reads back.
  writer.exec("BEGIN");
  writer.exec(
      "WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 2000) "
      "INSERT INTO t(id, body) SELECT 100000 + v, printf('%.*c', 5000, 'x') FROM s");
  writer.exec("ROLLBACK");
  REQUIRE(summary(reader) == expected(rows, bytes));
  writer.insert(rows, 40, bytes);
  rows += 40;
  REQUIRE(summary(reader) == expected(rows, bytes));

  // A checkpoint copies the log into the database; the file is whole afterwards, read by a fresh
  // connection on the default VFS.
  writer.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  writer.insert(rows, 10, bytes);
  rows += 10;
  Db fresh(path, SQLITE_OPEN_READONLY, nullptr);
  CHECK(fresh.text("PRAGMA integrity_check") == "ok");
  CHECK(summary(fresh) == expected(rows, bytes));
}

TEST_CASE("a log closed with the gathering VFS reopens whole on the default VFS", "[store][wal]") {
  test_support::TempDir dir;
  const std::string path = (dir / "w.db").string();
  {
    Db writer(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, broker::store::wal_gathering_vfs());
    writer.exec("PRAGMA journal_mode=WAL");
    writer.exec("PRAGMA synchronous=FULL");
    writer.exec("PRAGMA wal_autocheckpoint=0");  // the rows stay in the log until the close
    writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
    writer.insert(0, 500, 2000);
  }
  Db reopened(path, SQLITE_OPEN_READWRITE, nullptr);
  CHECK(reopened.text("PRAGMA integrity_check") == "ok");
  CHECK(summary(reopened) == expected(500, 2000));
}
