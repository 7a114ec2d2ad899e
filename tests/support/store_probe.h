#pragma once
// Read-only looks into a broker's SQLite store (docs/store-format.md) for tests that must check
// what the broker recorded, e.g. that a message was accepted exactly once. Open it after the broker
// has stopped, or accept that a running broker's newest commits may not be visible yet.

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "broker/store/sqlite_store.h"

namespace test_support {

class StoreProbe {
 public:
  explicit StoreProbe(const std::filesystem::path& path) : path_(path) {
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

  // Every handover-log event, read through the store (the events are typed blocks in the file).
  std::vector<broker::store::LogEvent> log_rows() {
    broker::store::StoreOptions options;
    options.path = path_;
    options.read_only = true;
    auto store = broker::store::SqliteStore::open(options);
    INFO((store ? std::string() : store.error().detail));
    REQUIRE(store.ok());
    auto rows = store->read_log(1, std::numeric_limits<std::size_t>::max());
    INFO((rows ? std::string() : rows.error().detail));
    REQUIRE(rows.ok());
    return std::move(*rows);
  }

  // The number of handover-log events named `event`.
  std::int64_t event_count(const std::string& event) {
    std::int64_t n = 0;
    for (const auto& row : log_rows()) n += row.event == event ? 1 : 0;
    return n;
  }

  // Handover-log events per event name for every message: message id -> event -> count.
  std::map<std::string, std::map<std::string, int>> events_by_message() {
    std::map<std::string, std::map<std::string, int>> out;
    for (const auto& row : log_rows()) {
      if (!row.message_id.empty()) ++out[row.message_id][row.event];
    }
    return out;
  }

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace test_support
