#include "broker/store/processed_reports.h"

#include <sqlite3.h>

#include "broker/store/sql_step.h"

namespace broker::store {
namespace {

// Same conventions as the main schema: every column NOT NULL. CREATE ... IF NOT EXISTS, so opening
// a store written before processed reports existed adds it (the file's schema version stays).
constexpr const char* kProcessedSql = R"sql(
CREATE TABLE IF NOT EXISTS processed_reports (
  delivery_id INTEGER NOT NULL PRIMARY KEY,
  outcome     INTEGER NOT NULL CHECK (outcome = 1 OR outcome = 2),
  at          INTEGER NOT NULL,
  log_seq     INTEGER NOT NULL
);
)sql";

// The SQLite backend: the table in the store's file, through its connection.
struct SqliteProcessed final : ProcessedReports::Impl {
  sqlite3* db = nullptr;  // owned by the SqliteStore
  StmtHandle find_, add_;

  Result<std::optional<ProcessedReport>> find(std::int64_t delivery_id) override {
    SqlStep q(db, find_, "read processed report");
    q.int64(delivery_id);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return std::optional<ProcessedReport>();
    return std::optional<ProcessedReport>(ProcessedReport{
        delivery_id, q.int64_at(0) == 2 ? contracts::ProcessedOutcome::kRefused : contracts::ProcessedOutcome::kDone,
        q.int64_at(1), static_cast<std::uint64_t>(q.int64_at(2))});
  }

  Result<void> add(const ProcessedReport& report) override {
    return SqlStep(db, add_, "record processed report")
        .int64(report.delivery_id)
        .int64(static_cast<std::int64_t>(report.outcome))
        .int64(report.at)
        .int64(static_cast<std::int64_t>(report.log_seq))
        .run();
  }
};

}  // namespace

Result<ProcessedReports> ProcessedReports::open(SqliteStore& store) {
  auto impl = std::make_unique<SqliteProcessed>();
  impl->db = store.connection();
  if (sqlite3_exec(impl->db, kProcessedSql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sql_error("create processed_reports", impl->db);
  }
  if (auto r = sql_prepare(impl->db, impl->find_,
                           "SELECT outcome, at, log_seq FROM processed_reports WHERE delivery_id = ?");
      !r) {
    return r.error();
  }
  if (auto r = sql_prepare(impl->db, impl->add_,
                           "INSERT INTO processed_reports (delivery_id, outcome, at, log_seq) VALUES (?, ?, ?, ?)");
      !r) {
    return r.error();
  }
  return ProcessedReports(std::move(impl));
}

ProcessedReports::ProcessedReports(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessedReports::ProcessedReports(ProcessedReports&&) noexcept = default;
ProcessedReports& ProcessedReports::operator=(ProcessedReports&&) noexcept = default;
ProcessedReports::~ProcessedReports() = default;

Result<std::optional<ProcessedReport>> ProcessedReports::find(std::int64_t delivery_id) {
  return impl_->find(delivery_id);
}

Result<void> ProcessedReports::add(const ProcessedReport& report) { return impl_->add(report); }

}  // namespace broker::store
