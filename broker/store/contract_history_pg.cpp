// ContractHistory on PostgreSQL: the table of contract_history.cpp as keten_contract_texts, in the
// PgStore's database and transactions (through its connection), and read_pg_contract_history()
// through a connection of its own; and open(Store&), which chooses between the two backends.
// docs/store-format.md, "On PostgreSQL".
#include "broker/ha/pg_connection.h"
#include "broker/store/contract_history.h"
#include "broker/store/pg_store.h"
#include "broker/store/pg_store_impl.h"
#include "broker/store/sqlite_store.h"

namespace broker::store {
namespace {

// Whether the database has the table: a database a version before the history made has none.
Result<bool> has_table(ha::PgConnection& conn) {
  auto rows = conn.query("read contract history", "SELECT to_regclass('keten_contract_texts') IS NOT NULL");
  if (!rows) return rows.error();
  return !rows->empty() && (*rows)[0][0] == "t";
}

Result<std::vector<ContractText>> read_all(ha::PgConnection& conn) {
  std::vector<ContractText> out;
  auto table = has_table(conn);
  if (!table) return table.error();
  if (!*table) return out;
  auto rows =
      conn.query("read contract history",
                 "SELECT contract, version, digest, text, file, builtin, first_loaded_at FROM keten_contract_texts"
                 " ORDER BY contract COLLATE \"C\", version, first_loaded_at, digest COLLATE \"C\"");
  if (!rows) return rows.error();
  out.reserve(rows->size());
  for (const auto& r : *rows) {
    out.push_back(
        {r[0], static_cast<std::uint32_t>(pg::int_at(r, 1)), r[2], r[3], r[4], r[5] == "1", pg::int_at(r, 6)});
  }
  return out;
}

class PgHistory final : public ContractHistory::Impl {
 public:
  explicit PgHistory(ha::PgConnection& conn) : conn_(conn) {}

  Result<bool> record(const ContractText& t) override {
    auto rows = conn_.query("record contract text",
                            "INSERT INTO keten_contract_texts (contract, version, digest, text, file, builtin,"
                            " first_loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                            " ON CONFLICT (contract, version, digest) DO NOTHING RETURNING 1",
                            {t.contract, std::to_string(t.version), t.digest, t.text, t.file, t.builtin ? "1" : "0",
                             std::to_string(t.first_loaded_at)});
    if (!rows) return rows.error();
    return !rows->empty();
  }

  Result<std::vector<ContractText>> all() override { return read_all(conn_); }

  Result<std::vector<CaseMessage>> case_messages(std::string_view case_ref, Millis until) override {
    auto rows = conn_.query("read messages of case",
                            "SELECT message_id, contract, version, accepted_at FROM keten_messages"
                            " WHERE case_ref = $1 AND accepted_at <= $2 ORDER BY seq",
                            {std::string(case_ref), std::to_string(until)});
    if (!rows) return rows.error();
    std::vector<CaseMessage> out;
    out.reserve(rows->size());
    for (const auto& r : *rows)
      out.push_back({r[0], r[1], static_cast<std::uint32_t>(pg::int_at(r, 2)), pg::int_at(r, 3)});
    return out;
  }

 private:
  ha::PgConnection& conn_;  // the PgStore's
};

}  // namespace

Result<ContractHistory> ContractHistory::open(PgStore& store, bool read_only) {
  (void)read_only;  // the table is PgStore's (made at its read-write open); reads check that it exists
  return ContractHistory(std::make_unique<PgHistory>(store.connection()));
}

Result<ContractHistory> ContractHistory::open(Store& store, bool read_only) {
  if (auto* file = dynamic_cast<SqliteStore*>(&store)) return open(*file, read_only);
  if (auto* database = dynamic_cast<PgStore*>(&store)) return open(*database, read_only);
  return contracts::Error{contracts::ErrorCode::kStorage,
                          "contract history: a store that is neither SQLite nor PostgreSQL"};
}

Result<std::vector<ContractText>> read_pg_contract_history(const std::string& conninfo) {
  auto conn = ha::PgConnection::open(conninfo);
  if (!conn) return contracts::Error{contracts::ErrorCode::kStorage, "store (PostgreSQL): " + conn.error().detail};
  auto texts = read_all(*conn);
  if (!texts) return contracts::Error{contracts::ErrorCode::kStorage, "store (PostgreSQL): " + texts.error().detail};
  return texts;
}

}  // namespace broker::store
