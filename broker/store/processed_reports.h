#pragma once
// ProcessedReports: which deliveries their recipient has reported processed (docs/protocol.md,
// "Processed"), in the store's file or database and its transactions (it uses the store's
// connection, as TrackingTables does). The handover log's `processed` event is the record; this table is only
// its index by delivery id, so that a second report of the same delivery is found with one
// primary-key lookup instead of a read through the case's log. Layout: docs/store-format.md,
// "Processed reports".
//
// Threading and errors as SqliteStore: one thread; every failure is Error{kStorage, ...}.

#include <cstdint>
#include <memory>
#include <optional>

#include "broker/store/sqlite_store.h"
#include "contracts/envelope.h"

namespace broker::store {

class PgStore;

// One delivery reported processed.
struct ProcessedReport {
  std::int64_t delivery_id = 0;
  contracts::ProcessedOutcome outcome = contracts::ProcessedOutcome::kDone;
  Millis at = 0;              // broker time of the report
  std::uint64_t log_seq = 0;  // seq of its `processed` event
};

class ProcessedReports {
 public:
  // Creates the table when missing.
  [[nodiscard]] static Result<ProcessedReports> open(SqliteStore& store);
  // The same table in a PostgreSQL store's database and transactions (processed_reports_pg.cpp, in
  // lib broker_store_pg).
  [[nodiscard]] static Result<ProcessedReports> open(PgStore& store);
  ProcessedReports(ProcessedReports&&) noexcept;
  ProcessedReports& operator=(ProcessedReports&&) noexcept;
  ~ProcessedReports();

  // The report of `delivery_id`, or nullopt when none was made.
  [[nodiscard]] Result<std::optional<ProcessedReport>> find(std::int64_t delivery_id);
  // Records a report in the open transaction. A delivery already reported is a storage error (the
  // caller looks first).
  [[nodiscard]] Result<void> add(const ProcessedReport& report);

  // What a backend implements: find and add, as above (processed_reports.cpp, processed_reports_pg.cpp).
  struct Impl {
    virtual ~Impl() = default;
    virtual Result<std::optional<ProcessedReport>> find(std::int64_t delivery_id) = 0;
    virtual Result<void> add(const ProcessedReport& report) = 0;
  };

 private:
  explicit ProcessedReports(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::store
