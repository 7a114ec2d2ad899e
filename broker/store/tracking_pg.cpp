// TrackingTables on PostgreSQL: the tables of tracking.cpp, prefixed keten_, in the PgStore's
// database and transactions (through its connection). docs/store-format.md, "On PostgreSQL".
#include <charconv>
#include <string>
#include <vector>

#include "broker/ha/pg_connection.h"
#include "broker/store/pg_store.h"
#include "broker/store/pg_store_impl.h"
#include "broker/store/tracking_backend.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;

class PgTracking final : public TrackingTables::Impl {
 public:
  explicit PgTracking(ha::PgConnection& conn) : conn_(conn) {}

  Result<void> add_key(std::string_view pointer, std::string_view stored_value, const NormKey& key) override {
    return run("add norm key",
               "INSERT INTO keten_norm_keys (pointer, case_key, message_id, contract, accepted_at)"
               " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
               {std::string(pointer), std::string(stored_value), key.message_id, key.contract,
                std::to_string(key.accepted_at)});
  }
  Result<std::vector<NormKey>> keys(std::string_view pointer, std::string_view stored_value) override {
    auto rows = conn_.query("read norm keys",
                            "SELECT contract, message_id, accepted_at FROM keten_norm_keys"
                            " WHERE pointer = $1 AND case_key = $2 ORDER BY accepted_at, message_id COLLATE \"C\"",
                            {std::string(pointer), std::string(stored_value)});
    if (!rows) return rows.error();
    std::vector<NormKey> out;
    for (auto& r : *rows) out.push_back(NormKey{std::move(r[0]), std::move(r[1]), pg::int_at(r, 2)});
    return out;
  }
  Result<void> watch(std::string_view message_id, Millis due_at) override {
    return run("watch message",
               "INSERT INTO keten_norm_watch (message_id, due_at) VALUES ($1, $2)"
               " ON CONFLICT (message_id) DO UPDATE SET due_at = excluded.due_at",
               {std::string(message_id), std::to_string(due_at)});
  }
  Result<void> unwatch(std::string_view message_id) override {
    return run("unwatch message", "DELETE FROM keten_norm_watch WHERE message_id = $1", {std::string(message_id)});
  }
  Result<bool> watched(std::string_view message_id) override {
    auto rows =
        conn_.query("read watch", "SELECT 1 FROM keten_norm_watch WHERE message_id = $1", {std::string(message_id)});
    if (!rows) return rows.error();
    return !rows->empty();
  }
  Result<std::vector<std::string>> due(Millis now, std::size_t limit) override {
    auto rows = conn_.query("read due watches",
                            "SELECT message_id FROM keten_norm_watch WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
                            {std::to_string(now), std::to_string(limit)});
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (auto& r : *rows) out.push_back(std::move(r[0]));
    return out;
  }
  Result<std::optional<Millis>> next_due() override {
    auto rows = conn_.query("read next due", "SELECT min(due_at) FROM keten_norm_watch");
    if (!rows) return rows.error();
    if (rows->empty() || (*rows)[0][0].empty()) return std::optional<Millis>();  // NULL reads as ""
    return std::optional<Millis>(pg::int_at((*rows)[0], 0));
  }
  Result<RecordedViolation> recorded(std::string_view key) override {
    auto rows = conn_.query("read recorded violation", "SELECT state FROM keten_norm_recorded WHERE key = $1",
                            {std::string(key)});
    if (!rows) return rows.error();
    if (rows->empty()) return RecordedViolation::kNone;
    return (*rows)[0][0] == "2" ? RecordedViolation::kClosed : RecordedViolation::kOpen;
  }
  Result<void> record(std::string_view key, RecordedViolation state) override {
    return run("record violation",
               "INSERT INTO keten_norm_recorded (key, state) VALUES ($1, $2)"
               " ON CONFLICT (key) DO UPDATE SET state = excluded.state",
               {std::string(key), state == RecordedViolation::kClosed ? "2" : "1"});
  }
  Result<std::vector<DeliveryTimes>> deliveries_of(std::string_view message_id) override {
    auto rows = conn_.query("read deliveries of message",
                            "SELECT d.recipient, d.attempts, d.last_attempt_at, d.acked_at FROM keten_deliveries AS d"
                            " JOIN keten_messages AS m ON m.seq = d.message_seq WHERE m.message_id = $1 ORDER BY d.id",
                            {std::string(message_id)});
    if (!rows) return rows.error();
    std::vector<DeliveryTimes> out;
    for (auto& r : *rows) {
      out.push_back(DeliveryTimes{std::move(r[0]), static_cast<std::uint32_t>(pg::int_at(r, 1)), pg::int_at(r, 2),
                                  pg::int_at(r, 3)});
    }
    return out;
  }
  Result<std::map<std::string, std::uint64_t, std::less<>>> backlog_counts() override {
    auto rows = conn_.query(
        "count backlog", "SELECT recipient, count(*) FROM keten_deliveries WHERE state IN (0, 1) GROUP BY recipient");
    if (!rows) return rows.error();
    std::map<std::string, std::uint64_t, std::less<>> out;
    for (auto& r : *rows) out[r[0]] = static_cast<std::uint64_t>(pg::int_at(r, 1));
    return out;
  }
  Result<std::vector<std::string>> consent_message_ids() override {
    // The IN list of keten_messages_consent's WHERE, so that the planner may use that partial index.
    auto rows = conn_.query("read consent messages",
                            "SELECT message_id FROM keten_messages WHERE contract IN ('consent.registered', "
                            "'consent.withdrawn') ORDER BY seq");
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (auto& r : *rows) out.push_back(std::move(r[0]));
    return out;
  }

 private:
  Result<void> run(std::string_view what, const std::string& sql, const std::vector<std::string>& params) {
    auto rows = conn_.query(std::string(what), sql, params);
    if (!rows) return rows.error();
    return {};
  }

  ha::PgConnection& conn_;  // the PgStore's
};

// meta norm_hash_key in keten_meta: read, and stored when made (a second instance that raced to
// make one too reads the first one's back).
Result<std::string> load_hash_key(ha::PgConnection& conn, std::string_view payload_key) {
  auto read = [&conn]() -> Result<std::optional<std::string>> {
    auto rows =
        conn.query("open tracking tables (norm hash key)", "SELECT value FROM keten_meta WHERE key = 'norm_hash_key'");
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<std::string>();
    return std::optional<std::string>((*rows)[0][0]);
  };
  auto stored = read();
  if (!stored) return stored.error();
  auto key = norm_hash_key(*stored, payload_key);
  if (!key) return key.error();
  if (key->new_sealed_hex.empty()) return std::move(key->key);
  // SQLite hashes rows written before the store had a payload key (tracking.cpp); this backend
  // does not, so such rows, which would never match again, are refused rather than missed.
  auto plain = conn.query("open tracking tables (plaintext norm keys)", "SELECT 1 FROM keten_norm_keys LIMIT 1");
  if (!plain) return plain.error();
  if (!plain->empty()) {
    return Error{ErrorCode::kStorage,
                 "open tracking tables (norm hash key): the store's norm keys were written without a payload key; a "
                 "PostgreSQL store cannot be given one later"};
  }
  auto inserted = conn.query("open tracking tables (store norm hash key)",
                             "INSERT INTO keten_meta (key, value) VALUES ('norm_hash_key', $1)"
                             " ON CONFLICT (key) DO NOTHING RETURNING key",
                             {key->new_sealed_hex});
  if (!inserted) return inserted.error();
  if (!inserted->empty()) return std::move(key->key);
  auto again = read();
  if (!again) return again.error();
  auto theirs = norm_hash_key(*again, payload_key);
  if (!theirs) return theirs.error();
  return std::move(theirs->key);
}

}  // namespace

Result<TrackingTables> TrackingTables::open(PgStore& store, std::string_view payload_key) {
  // The tables are PgStore's (made at its open). The hash key is read, or made and stored, in a
  // transaction of its own (fenced, as every write of a leader) unless the caller has one open.
  ha::PgConnection& conn = store.connection();
  const bool own = !conn.in_transaction();
  if (own) {
    if (auto r = store.begin(); !r) return r.error();
  }
  auto impl = std::make_unique<PgTracking>(conn);
  auto key = load_hash_key(conn, payload_key);
  if (key && own) {
    if (auto r = store.commit(); !r) key = r.error();
  }
  if (!key) {
    if (own) store.rollback();
    return key.error();
  }
  impl->hash_key = std::move(*key);
  return TrackingTables(std::move(impl));
}

}  // namespace broker::store
