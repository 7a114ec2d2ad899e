#pragma once
// Tampering with a store's handover log behind its back, as a forger with write access to the file
// would: for the tests that show verification, the console and the tools catch it. Test-only.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "broker/events/codec.h"
#include "broker/store/event_block.h"

namespace test_support {

// Rewrites the block holding event `seq` behind the store's back, with that event's bytes replaced
// by `bytes(event)` (a forger re-encoding an edited event, or garbage).
inline void rewrite_event(const std::filesystem::path& path, std::uint64_t seq,
                          const std::function<std::string(const broker::events::Event&)>& bytes) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT first_seq, count, events FROM log_blocks WHERE first_seq <= ? "
                                  "ORDER BY first_seq DESC LIMIT 1", -1, &st, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(seq));
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const auto first = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
  const auto count = static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
  const std::string blob(static_cast<const char*>(sqlite3_column_blob(st, 2)),
                         static_cast<std::size_t>(sqlite3_column_bytes(st, 2)));
  sqlite3_finalize(st);
  auto parts = broker::store::split_block(first, count, blob);
  REQUIRE(parts);
  std::string rebuilt;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (first + i != seq) {
      broker::store::append_to_block(rebuilt, (*parts)[i]);
      continue;
    }
    auto event = broker::events::decode_event((*parts)[i]);
    REQUIRE(event);
    broker::store::append_to_block(rebuilt, bytes(*event));
  }
  REQUIRE(sqlite3_exec(raw, "DROP TRIGGER log_blocks_no_update", nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_prepare_v2(raw, "UPDATE log_blocks SET events = ? WHERE first_seq = ?", -1, &st, nullptr) == SQLITE_OK);
  sqlite3_bind_blob(st, 1, rebuilt.data(), static_cast<int>(rebuilt.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(first));
  REQUIRE(sqlite3_step(st) == SQLITE_DONE);
  sqlite3_finalize(st);
}

}  // namespace test_support
