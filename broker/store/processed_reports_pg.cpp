// ProcessedReports on PostgreSQL: the table of processed_reports.cpp as keten_processed_reports, in
// the PgStore's database and transactions (through its connection). docs/store-format.md, "On
// PostgreSQL".
#include "broker/ha/pg_connection.h"
#include "broker/store/pg_store.h"
#include "broker/store/pg_store_impl.h"
#include "broker/store/processed_reports.h"

namespace broker::store {
namespace {

class PgProcessed final : public ProcessedReports::Impl {
 public:
  explicit PgProcessed(ha::PgConnection& conn) : conn_(conn) {}

  Result<std::optional<ProcessedReport>> find(std::int64_t delivery_id) override {
    auto rows = conn_.query("read processed report",
                            "SELECT outcome, at, log_seq FROM keten_processed_reports WHERE delivery_id = $1",
                            {std::to_string(delivery_id)});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<ProcessedReport>();
    const auto& r = (*rows)[0];
    return std::optional<ProcessedReport>(ProcessedReport{
        delivery_id, r[0] == "2" ? contracts::ProcessedOutcome::kRefused : contracts::ProcessedOutcome::kDone,
        pg::int_at(r, 1), static_cast<std::uint64_t>(pg::int_at(r, 2))});
  }

  Result<void> add(const ProcessedReport& report) override {
    auto rows =
        conn_.query("record processed report",
                    "INSERT INTO keten_processed_reports (delivery_id, outcome, at, log_seq)"
                    " VALUES ($1, $2, $3, $4)",
                    {std::to_string(report.delivery_id), std::to_string(static_cast<std::int64_t>(report.outcome)),
                     std::to_string(report.at), std::to_string(report.log_seq)});
    if (!rows) return rows.error();
    return {};
  }

 private:
  ha::PgConnection& conn_;  // the PgStore's
};

}  // namespace

Result<ProcessedReports> ProcessedReports::open(PgStore& store) {
  // The table is PgStore's (made at its open).
  return ProcessedReports(std::make_unique<PgProcessed>(store.connection()));
}

}  // namespace broker::store
