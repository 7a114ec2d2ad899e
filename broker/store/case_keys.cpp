#include "broker/store/case_keys.h"

#include <algorithm>

#include "broker/store/seal.h"
#include "broker/store/sqlite_store.h"
#include "contracts/time.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

Error key_error(std::string what, std::string detail) {
  return Error{ErrorCode::kStorage, std::move(what) + " : " + std::move(detail)};
}

// One string per (case_ref, message_id), unambiguous whatever the texts hold.
std::string live_key(std::string_view case_ref, std::string_view message_id) {
  std::string out = std::to_string(case_ref.size());
  out.push_back(':');
  out.append(case_ref).append(message_id);
  return out;
}

}  // namespace

Result<CaseKeyring> CaseKeyring::open(sqlite3* db, std::string payload_key) {
  CaseKeyring ring;
  ring.db_ = db;
  ring.payload_key_ = std::move(payload_key);
  ring.key_id_ = payload_key_id(ring.payload_key_);
  const std::pair<StmtHandle*, const char*> statements[] = {
      {&ring.find_live_,
       "SELECT id, wrapped_key, key_id FROM case_keys WHERE case_ref = ? AND message_id = ? AND shredded_at = 0"},
      {&ring.find_by_id_,
       "SELECT case_ref, message_id, wrapped_key, key_id, shredded_at, shred_reason FROM case_keys WHERE id = ?"},
      {&ring.insert_,
       "INSERT INTO case_keys (case_ref, message_id, wrapped_key, key_id, created_at, shredded_at, shred_reason)"
       " VALUES (?, ?, ?, ?, ?, 0, '')"},
  };
  for (const auto& [stmt, sql] : statements) {
    if (auto r = sql_prepare(db, *stmt, sql); !r) return r.error();
  }
  return ring;
}

CaseKeyring::~CaseKeyring() {
  for (auto& [id, cached] : by_id_) wipe(cached.key);
  wipe(payload_key_);
}

Result<std::string> CaseKeyring::unwrap(std::string_view case_ref, std::string_view message_id,
                                        const std::string& wrapped, const std::string& key_id) {
  const std::string what =
      "case key of " + (case_ref.empty() ? "message " + std::string(message_id) : "case " + std::string(case_ref));
  if (payload_key_.empty())
    return key_error(what, "the payload is sealed and no payload key is configured (payload_key)");
  if (key_id != key_id_) {
    return key_error(what, "wrapped under payload key " + key_id + ", not the configured one (" + key_id_ +
                               "); finish `keten store rotate-payload-key`, or configure that key");
  }
  auto key = open_payload(payload_key_, wrapped, case_key_associated_data(case_ref, message_id));
  if (!key) return key_error(what, key.error().detail);
  if (key->size() != kPayloadKeyBytes) return key_error(what, "unwrapped key has the wrong size");
  return key;
}

void CaseKeyring::remember(std::int64_t id, std::string case_ref, std::string message_id, std::string key) {
  if (by_id_.count(id) > 0) return;
  while (by_id_.size() >= kCachedKeys && !order_.empty()) forget(order_.front());
  live_[live_key(case_ref, message_id)] = id;
  by_id_.emplace(id, Cached{std::move(case_ref), std::move(message_id), std::move(key)});
  order_.push_back(id);
}

void CaseKeyring::forget(std::int64_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto live = live_.find(live_key(it->second.case_ref, it->second.message_id));
  if (live != live_.end() && live->second == id) live_.erase(live);
  wipe(it->second.key);
  by_id_.erase(it);
  order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
}

Result<std::pair<std::int64_t, std::string>> CaseKeyring::key_for_new(std::string_view case_ref,
                                                                      std::string_view message_id,
                                                                      contracts::Millis now) {
  // A message with a case shares the case's key; one without has a key of its own.
  const std::string_view owner_id = case_ref.empty() ? message_id : std::string_view();
  if (auto it = live_.find(live_key(case_ref, owner_id)); it != live_.end()) {
    return std::pair<std::int64_t, std::string>{it->second, by_id_.at(it->second).key};
  }
  {
    SqlStep q(db_, find_live_, "case key (find)");
    q.text(case_ref).text(owner_id);
    auto row = q.next();
    if (!row) return row.error();
    if (*row) {
      const std::int64_t id = q.int64_at(0);
      auto key = unwrap(case_ref, owner_id, q.blob_at(1), q.text_at(2));
      if (!key) return key.error();
      remember(id, std::string(case_ref), std::string(owner_id), *key);
      return std::pair<std::int64_t, std::string>{id, std::move(*key)};
    }
  }
  if (payload_key_.empty()) return key_error("case key (new)", "no payload key is configured (payload_key)");
  std::string key = generate_case_key();
  if (key.empty()) return key_error("case key (new)", "libsodium failed to initialise");
  auto wrapped = seal_payload(payload_key_, key, case_key_associated_data(case_ref, owner_id));
  if (!wrapped) return key_error("case key (new)", wrapped.error().detail);
  SqlStep q(db_, insert_, "case key (new)");
  q.text(case_ref).text(owner_id).blob(*wrapped).text(key_id_).int64(now);
  if (auto r = q.run(); !r) return r.error();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  if (!sqlite3_get_autocommit(db_)) made_in_transaction_.push_back(id);
  remember(id, std::string(case_ref), std::string(owner_id), key);
  return std::pair<std::int64_t, std::string>{id, std::move(key)};
}

Result<CaseKeyring::ForReading> CaseKeyring::key_for_reading(std::int64_t id) {
  if (auto it = by_id_.find(id); it != by_id_.end()) return ForReading{it->second.key, {}};
  SqlStep q(db_, find_by_id_, "case key (read)");
  q.int64(id);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return key_error("case key " + std::to_string(id), "no such row in case_keys");
  const contracts::Millis shredded_at = q.int64_at(4);
  if (shredded_at != 0) {
    const std::string reason = q.text_at(5);
    return ForReading{{},
                      std::string(kShreddedPrefix) + contracts::format_rfc3339(shredded_at) +
                          (reason.empty() ? "" : " (" + reason + ")")};
  }
  std::string case_ref = q.text_at(0), message_id = q.text_at(1);
  auto key = unwrap(case_ref, message_id, q.blob_at(2), q.text_at(3));
  if (!key) return key.error();
  remember(id, std::move(case_ref), std::move(message_id), *key);
  return ForReading{std::move(*key), {}};
}

void CaseKeyring::transaction_ended(bool committed) {
  if (!committed) {
    for (std::int64_t id : made_in_transaction_) forget(id);
  }
  made_in_transaction_.clear();
}

}  // namespace broker::store
