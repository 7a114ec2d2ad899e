#pragma once
// The schema-4 store's write path for one delivered message, kept so that bench/fill_store can
// measure it in the same run as schema 5: the same tables (broker/store/schema4_sql.h), the same
// statements the schema-4 SqliteStore prepared, the message's recipient lists as JSON, and six
// handover-log rows each sealed into the hash chain (broker_audit) and inserted 16 per INSERT at
// commit, as that store did. Not the whole old store: only what a delivered message wrote.

#include <memory>
#include <string>

#include "broker/store/sqlite_store.h"
#include "contracts/error.h"

namespace bench {

class LegacyStore {
 public:
  [[nodiscard]] static contracts::Result<LegacyStore> open(const std::string& path);
  LegacyStore(LegacyStore&&) noexcept;
  ~LegacyStore();

  [[nodiscard]] contracts::Result<void> begin();
  [[nodiscard]] contracts::Result<void> commit();
  // The message row, its delivery (in flight, then acknowledged) and the six log rows.
  [[nodiscard]] contracts::Result<void> write_message(const broker::store::NewMessage& message,
                                                      const broker::store::LogEvent (&rows)[6]);

 private:
  struct Impl;
  explicit LegacyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bench
