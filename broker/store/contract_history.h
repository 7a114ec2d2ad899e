#pragma once
// ContractHistory: every contract version's text the broker has served, stored by digest in the
// store's file or database (table contract_texts, on PostgreSQL keten_contract_texts, beside the
// store's own tables and in its transactions, as tracking.h does). A contract's rules at time T are
// rebuilt from it: the text of that name and version first loaded at or before T. Layout:
// docs/store-format.md, "Contract history" and "On PostgreSQL".
//
// Threading and errors as SqliteStore: one thread; every failure is Error{kStorage, ...}.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/sqlite_store.h"

namespace broker::store {

class PgStore;

// One version's text as first loaded.
struct ContractText {
  std::string contract;
  std::uint32_t version = 0;
  std::string digest;          // hex SHA-256 of `text`
  std::string text;            // contracts::Contract::text
  std::string file;            // the file it was loaded from, for people
  bool builtin = false;        // a built-in contract (its text follows the configured partners)
  Millis first_loaded_at = 0;  // when a broker first served this text
};

// A message of one case, as revalidation needs it (payload read separately).
struct CaseMessage {
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  Millis accepted_at = 0;
};

class ContractHistory {
 public:
  // Creates the table when missing (a writable store), or reads what is there (a store opened
  // read-only: a store older than the history has none, and every lookup finds nothing).
  [[nodiscard]] static Result<ContractHistory> open(SqliteStore& store, bool read_only = false);
  // The same in a PostgreSQL store's database and transactions (contract_history_pg.cpp, in lib
  // broker_store_pg). The table is PgStore's, made at its read-write open; a database older than
  // it reads as an empty history.
  [[nodiscard]] static Result<ContractHistory> open(PgStore& store, bool read_only = false);
  // Either of the two, as `store` is (contract_history_pg.cpp: it needs both); kStorage for a store
  // of another kind.
  [[nodiscard]] static Result<ContractHistory> open(Store& store, bool read_only = false);
  ContractHistory(ContractHistory&&) noexcept;
  ContractHistory& operator=(ContractHistory&&) noexcept;
  ~ContractHistory();

  // Stores `text` unless that name, version and digest are already there; true when it was new.
  [[nodiscard]] Result<bool> record(const ContractText& text);
  // Every stored text, by contract, version and first_loaded_at.
  [[nodiscard]] Result<std::vector<ContractText>> all();
  // The messages of a case accepted at or before `until`, in acceptance order.
  [[nodiscard]] Result<std::vector<CaseMessage>> case_messages(std::string_view case_ref, Millis until);

  // What a backend implements: the three calls above (contract_history.cpp, contract_history_pg.cpp).
  struct Impl {
    virtual ~Impl() = default;
    virtual Result<bool> record(const ContractText& text) = 0;
    virtual Result<std::vector<ContractText>> all() = 0;
    virtual Result<std::vector<CaseMessage>> case_messages(std::string_view case_ref, Millis until) = 0;
  };

 private:
  explicit ContractHistory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The stored texts of the store file at `path`, read through a read-only connection of its own,
// whatever the store's schema version: what the checks at start compare a contract set with before
// the store is opened. Empty when the file does not exist or holds no history.
[[nodiscard]] Result<std::vector<ContractText>> read_contract_history(const std::filesystem::path& path);
// The same from the PostgreSQL database at `conninfo` (a libpq connection string or URI), through
// a connection of its own (contract_history_pg.cpp). Empty when the database has no history table
// yet (a new database, or one a version before the history made).
[[nodiscard]] Result<std::vector<ContractText>> read_pg_contract_history(const std::string& conninfo);

// The text of `contract` v`version` in force at `at`: the one first loaded last at or before
// `at`, else (a message older than the history) the earliest; nullopt when none is stored.
const ContractText* text_in_force(const std::vector<ContractText>& texts, std::string_view contract,
                                  std::uint32_t version, Millis at);
// The newest version of `contract` loaded at or before `at`, its text in force then; nullopt when none.
const ContractText* newest_in_force(const std::vector<ContractText>& texts, std::string_view contract, Millis at);

}  // namespace broker::store
