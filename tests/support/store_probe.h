#pragma once
// Read-only looks into a broker's SQLite store (docs/store-format.md) for tests that must check
// what the broker recorded, e.g. that a message was accepted exactly once. Open it after the broker
// has stopped, or accept that a running broker's newest commits may not be visible yet.

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace test_support {

class StoreProbe {
 public:
  explicit StoreProbe(const std::filesystem::path& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~StoreProbe() { sqlite3_close(db_); }
  StoreProbe(const StoreProbe&) = delete;
  StoreProbe& operator=(const StoreProbe&) = delete;

  // The number the query's first column holds in its first row (a COUNT(*) or similar).
  std::int64_t count(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    std::int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

  // Handover-log events per event name for every message: message id -> event -> count.
  std::map<std::string, std::map<std::string, int>> events_by_message() {
    std::map<std::string, std::map<std::string, int>> out;
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_,
                               "SELECT message_id, event, COUNT(*) FROM handover_log "
                               "WHERE message_id <> '' GROUP BY message_id, event",
                               -1, &stmt, nullptr) == SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      auto text = [&](int i) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i)));
      };
      out[text(0)][text(1)] = sqlite3_column_int(stmt, 2);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace test_support
