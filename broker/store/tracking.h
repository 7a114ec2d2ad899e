#pragma once
// TrackingTables: the broker's bookkeeping beside the messages, in the store's own file or database
// and its transactions (it uses the store's connection; SQLite or PostgreSQL): what the norm tracker needs to survive a
// restart (case keys of messages, messages watched for open obligations, violations recorded), and
// the reads over deliveries the broker's limits and norms need. Layout: docs/store-format.md,
// "Tracking tables".
//
// Threading and errors as SqliteStore: one thread; every failure is Error{kStorage, ...}.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/sqlite_store.h"

namespace broker::store {

class PgStore;

// A message whose payload has a follow-up norm's `match` pointer (its case key for that pointer).
struct NormKey {
  std::string contract;
  std::string message_id;
  Millis accepted_at = 0;
};

// One delivery of a message, as the norm tracker sees it.
struct DeliveryTimes {
  std::string recipient;
  std::uint32_t attempts = 0;
  Millis last_attempt_at = 0;
  Millis acked_at = 0;
};

// When a norm violation was recorded: open (not met, past due) or closed (met late).
enum class RecordedViolation : std::uint8_t { kNone, kOpen, kClosed };

class TrackingTables {
 public:
  // Creates the tables when missing. `payload_key` is the store's (32 raw bytes, or ""): with it,
  // the case-key values norm_keys matches by are stored as keyed hashes (seal.h, norm_key_digest)
  // under a secret wrapped in meta.norm_hash_key, made at the first open with a key; rows from
  // before (plaintext) are hashed then, under secure_delete, and the WAL truncated. Without it the
  // values are stored as they are (the payloads are plaintext too), and a store whose norm keys are
  // hashed is refused (kStorage). Inside its own transaction when none is open.
  [[nodiscard]] static Result<TrackingTables> open(SqliteStore& store, std::string_view payload_key = {});
  // The same tables in a PostgreSQL store's database and transactions (tracking_pg.cpp, in lib
  // broker_store_pg). A store whose norm keys were written without a payload key cannot be given
  // one later (kStorage says so), nor the other way round.
  [[nodiscard]] static Result<TrackingTables> open(PgStore& store, std::string_view payload_key = {});
  TrackingTables(TrackingTables&&) noexcept;
  TrackingTables& operator=(TrackingTables&&) noexcept;
  ~TrackingTables();

  // --- norm case keys ---
  [[nodiscard]] Result<void> add_key(std::string_view pointer, std::string_view case_key, const NormKey& key);
  // Every message with that value at that pointer, oldest first.
  [[nodiscard]] Result<std::vector<NormKey>> keys(std::string_view pointer, std::string_view case_key);

  // --- watched messages (open obligations) ---
  [[nodiscard]] Result<void> watch(std::string_view message_id, Millis due_at);
  [[nodiscard]] Result<void> unwatch(std::string_view message_id);
  [[nodiscard]] Result<bool> watched(std::string_view message_id);
  // Up to `limit` watched messages due at or before `now`, earliest first.
  [[nodiscard]] Result<std::vector<std::string>> due(Millis now, std::size_t limit);
  // The earliest due time, or nullopt when nothing is watched.
  [[nodiscard]] Result<std::optional<Millis>> next_due();

  // --- recorded violations, by NormViolation::key ---
  [[nodiscard]] Result<RecordedViolation> recorded(std::string_view key);
  [[nodiscard]] Result<void> record(std::string_view key, RecordedViolation state);

  // --- reads over deliveries ---
  [[nodiscard]] Result<std::vector<DeliveryTimes>> deliveries_of(std::string_view message_id);
  // Per recipient, deliveries pending or in flight (its backlog).
  [[nodiscard]] Result<std::map<std::string, std::uint64_t, std::less<>>> backlog_counts();
  // Ids of the accepted `consent.registered` and `consent.withdrawn` messages, in acceptance order,
  // for the consent register (the contract names are policy::kConsentRegistered/kConsentWithdrawn's;
  // the store holds them as SQL, in its partial index messages_consent).
  [[nodiscard]] Result<std::vector<std::string>> consent_message_ids();

  // What a backend implements (tracking_backend.h; private to the store libraries).
  struct Impl;

 private:
  explicit TrackingTables(std::unique_ptr<Impl> impl);
  std::string stored(std::string_view value) const;  // what norm_keys.case_key holds for `value`
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::store
