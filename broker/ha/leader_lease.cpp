#include "broker/ha/leader_lease.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "broker/ha/lease_table.h"
#include "broker/ha/log.h"

namespace broker::ha {
namespace {

using contracts::ErrorCode;

const std::string kTable = kLeaseTable;

// Two instances starting at once would race in CREATE TABLE IF NOT EXISTS (a unique violation in
// pg_type): a transaction-scoped advisory lock serialises the creation. The key is arbitrary and
// fixed ("keten ha" in ASCII).
const std::string kCreateLockKey = "7809911223849705313";

std::string ttl_interval(std::chrono::milliseconds ttl) {
  return std::to_string(ttl.count());
}

contracts::Result<void> create_table(PgConnection& conn) {
  auto begin = conn.query("lease table: begin", "BEGIN");
  if (!begin) return begin.error();
  const std::pair<const char*, std::string> steps[] = {
      {"lease table: lock", "SELECT pg_advisory_xact_lock(" + kCreateLockKey + ")"},
      // epoch 0 with an expiry at -infinity: free, and the first acquisition gets epoch 1.
      {"lease table: create",
       "CREATE TABLE IF NOT EXISTS " + kTable +
           " (id smallint PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL, holder text NOT NULL,"
           " expires_at timestamptz NOT NULL, acquired_at timestamptz)"},
      {"lease table: insert row",
       "INSERT INTO " + kTable + " (id, epoch, holder, expires_at) VALUES (1, 0, '', '-infinity')"
           " ON CONFLICT (id) DO NOTHING"},
  };
  for (const auto& [what, sql] : steps) {
    auto r = conn.query(what, sql);
    if (!r) {
      if (!conn.is_broken()) (void)conn.query("lease table: rollback", "ROLLBACK");
      return r.error();
    }
  }
  auto commit = conn.query("lease table: commit", "COMMIT");
  if (!commit) return commit.error();
  return {};
}

// Session settings of the lease connection: a takeover waiting behind a writer's row lock (a frozen
// leader inside its fence check) gives up after a ttl and is retried, rather than hanging.
contracts::Result<void> configure_session(PgConnection& conn, std::chrono::milliseconds ttl) {
  auto r = conn.query("lease session: set lock_timeout", "SET lock_timeout = " + std::to_string(ttl.count()));
  if (!r) return r.error();
  auto s = conn.query("lease session: set statement_timeout",
                      "SET statement_timeout = " + std::to_string(2 * ttl.count()));
  if (!s) return s.error();
  return {};
}

}  // namespace

LeaderLease::LeaderLease(LeaseOptions options, PgConnection conn)
    : options_(std::move(options)), conn_(std::move(conn)), timer_(options_.ttl) {}

contracts::Result<LeaderLease> LeaderLease::open(LeaseOptions options) {
  if (options.holder.empty()) return contracts::Error{ErrorCode::kConfig, "leader lease: the holder name is empty"};
  if (options.ttl < std::chrono::milliseconds(100)) {
    return contracts::Error{ErrorCode::kConfig,
                            "leader lease: ttl " + std::to_string(options.ttl.count()) + " ms is below 100 ms"};
  }
  auto conn = PgConnection::open(options.conninfo);
  if (!conn) return conn.error();
  if (auto r = configure_session(*conn, options.ttl); !r) return r.error();
  if (auto r = create_table(*conn); !r) return r.error();
  return LeaderLease(std::move(options), std::move(*conn));
}

contracts::Result<void> LeaderLease::ensure_connected() {
  if (!conn_.is_broken()) return {};
  if (auto r = conn_.reconnect(); !r) return r.error();
  log().info("lease reconnected holder={}", options_.holder);
  return configure_session(conn_, options_.ttl);
}

contracts::Result<std::optional<Epoch>> LeaderLease::try_acquire() {
  if (auto r = ensure_connected(); !r) return r.error();
  const auto sent_at = options_.now();
  auto rows = conn_.query("lease acquire",
                          "UPDATE " + kTable +
                              " SET epoch = epoch + 1, holder = $1, acquired_at = now(),"
                              " expires_at = now() + $2::bigint * interval '1 millisecond'"
                              " WHERE id = 1 AND expires_at <= now() RETURNING epoch",
                          {options_.holder, ttl_interval(options_.ttl)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Epoch>{};
  const Epoch epoch{std::stoll((*rows)[0][0])};
  epoch_ = epoch;
  timer_.confirmed(sent_at);
  log().info("lease acquired holder={} epoch={}", options_.holder, epoch.value);
  return std::optional<Epoch>{epoch};
}

contracts::Result<RenewOutcome> LeaderLease::renew() {
  if (!epoch_) return contracts::Error{ErrorCode::kStorage, "lease renew: this instance holds no lease"};
  if (auto r = ensure_connected(); !r) return r.error();
  const auto sent_at = options_.now();
  auto rows = conn_.query("lease renew",
                          "UPDATE " + kTable +
                              " SET expires_at = now() + $2::bigint * interval '1 millisecond'"
                              " WHERE id = 1 AND epoch = $1 RETURNING epoch",
                          {std::to_string(epoch_->value), ttl_interval(options_.ttl)});
  if (!rows) return rows.error();
  if (rows->empty()) {
    log().warn("lease lost holder={} epoch={}", options_.holder, epoch_->value);
    epoch_.reset();
    timer_.lost();
    return RenewOutcome::kLost;
  }
  timer_.confirmed(sent_at);
  return RenewOutcome::kRenewed;
}

contracts::Result<void> LeaderLease::release() {
  if (!epoch_) return {};
  if (auto r = ensure_connected(); !r) return r.error();
  auto rows = conn_.query("lease release",
                          "UPDATE " + kTable + " SET expires_at = '-infinity' WHERE id = 1 AND epoch = $1",
                          {std::to_string(epoch_->value)});
  if (!rows) return rows.error();
  log().info("lease released holder={} epoch={}", options_.holder, epoch_->value);
  epoch_.reset();
  timer_.lost();
  return {};
}

contracts::Result<LeaseRow> LeaderLease::read() {
  if (auto r = ensure_connected(); !r) return r.error();
  auto rows = conn_.query("lease read", "SELECT epoch, holder, expires_at <= now() FROM " + kTable + " WHERE id = 1");
  if (!rows) return rows.error();
  if (rows->empty()) return contracts::Error{ErrorCode::kStorage, "lease read: the lease row is missing"};
  const auto& row = (*rows)[0];
  return LeaseRow{Epoch{std::stoll(row[0])}, row[1], row[2] == "t"};
}

}  // namespace broker::ha
