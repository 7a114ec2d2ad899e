#pragma once
// The reads and writes retention by crypto-shredding and legal holds need (docs/operations.md,
// "Retention"), over the store's case_keys and case_holds tables through its connection, as
// tracking.h does: which live case keys there are, which messages each seals, the holds, and
// the payload-key rotation that re-wraps case keys. Shredding itself is SqliteStore::shred_case_key.
// The rules (when a case is due) are broker/lifecycle/retention_rules.h.
//
// One thread; every failure is Error{kStorage, ...}. Each call prepares its statements: the callers
// run hourly or from a tool, never on the hot path.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/sqlite_store.h"

namespace broker::store {

// A case key not shredded. message_id is set (and case_ref "") for a message without a case.
struct LiveCaseKey {
  std::int64_t id = 0;
  std::string case_ref;
  std::string message_id;
  Millis created_at = 0;  // when its first message was stored
};
// Live keys made at or before `created_before` (a key made later cannot be due yet), by id, from
// id `from_id` on. Through case_keys_live_by_id: the live keys only, never the shredded ones.
[[nodiscard]] Result<std::vector<LiveCaseKey>> live_case_keys(SqliteStore& store, Millis created_before,
                                                              std::int64_t from_id = 0);

// The messages one case key seals, per contract version: how many and the newest acceptance.
struct KeyMessages {
  std::string contract;
  std::uint32_t version = 0;
  Millis newest_accepted_at = 0;
  std::uint32_t count = 0;
};
[[nodiscard]] Result<std::vector<KeyMessages>> case_key_messages(SqliteStore& store, const LiveCaseKey& key);

// Shredded keys so far (for keten_cases_shredded_total at start).
[[nodiscard]] Result<std::uint64_t> count_shredded(SqliteStore& store);

// --- legal holds (table case_holds) ---
struct CaseHold {
  std::string case_ref;
  Millis since = 0;
  std::string reason;
  std::string who;
};
// Puts a hold on `case_ref`; false (nothing written) when it is held already.
[[nodiscard]] Result<bool> hold_case(SqliteStore& store, const CaseHold& hold);
// Lifts the hold; false when the case was not held.
[[nodiscard]] Result<bool> release_case(SqliteStore& store, std::string_view case_ref);
// Every case on hold, by case_ref.
[[nodiscard]] Result<std::vector<CaseHold>> case_holds(SqliteStore& store);

// --- payload-key rotation ---
struct Rotation {
  std::uint64_t rewrapped = 0;        // case keys re-wrapped by this call
  std::uint64_t already = 0;          // case keys found wrapped under the new key (a resumed rotation)
  std::uint64_t resealed_legacy = 0;  // payloads sealed directly under the old key, sealed again under the new
};
// Re-wraps every live case key wrapped under `old_key` with `new_key` (32 raw bytes each; rows
// already under `new_key` are left, so a rotation cut short is resumed by running it again), in
// transactions of `batch` rows; payloads sealed under case keys are not touched. Payloads stored
// before case keys, sealed directly under the old key, are sealed again under the new one. Last,
// meta.payload_key_check is made for the new key (and meta.norm_hash_key, the norm tracker's
// hashing secret, re-wrapped under it): from then on the store opens only with it.
// The store must have been opened with the old key, or with the new one when resuming after the
// key check was already moved, and by nobody else (the broker stopped).
[[nodiscard]] Result<Rotation> rotate_payload_key(SqliteStore& store, std::string_view old_key,
                                                  std::string_view new_key, std::size_t batch = 500);

}  // namespace broker::store
