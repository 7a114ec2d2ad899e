#pragma once
// CaseKeyring: the store's case keys (docs/store-format.md, "Case keys"). With a payload key,
// every payload is sealed under the key of its case (a random 32-byte key made when the case's
// first message is stored; a message without a case_ref gets a key of its own, keyed by its
// message id). The keys live in table case_keys, each wrapped (seal.h) under the payload key, its
// key_id naming which payload key. Destroying a case's key (shredding, retention.h) makes its
// payloads unreadable without touching them.
//
// The keyring keeps the keys it unwrapped or made in memory, bounded (kCachedKeys; the oldest
// entry goes first, its bytes wiped), so a case's later messages cost no query. Keys made inside
// the open transaction are dropped from memory at rollback (their rows go with it).
//
// Private to broker_store: SqliteStore owns one and calls it from its own statements.
// Threading and errors as SqliteStore: one thread; every failure is Error{kStorage, ...}.

#include <sqlite3.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/store/sql_step.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {

class CaseKeyring {
 public:
  static constexpr std::size_t kCachedKeys = 4096;

  // `db` belongs to the store and outlives the keyring; `payload_key` is 32 raw bytes, or "" (then
  // nothing is sealed under case keys and every call that needs a key fails). The table must exist.
  [[nodiscard]] static contracts::Result<CaseKeyring> open(sqlite3* db, std::string payload_key);
  CaseKeyring(CaseKeyring&&) noexcept = default;
  CaseKeyring& operator=(CaseKeyring&&) noexcept = default;
  ~CaseKeyring();

  bool enabled() const { return !payload_key_.empty(); }

  // A key to seal a new message with: the live key of `case_ref` (or, when case_ref is "", of
  // message `message_id`), made and stored wrapped when there is none (a case whose key was
  // shredded gets a new one: its earlier payloads stay shredded). Returns the row id and the raw key.
  [[nodiscard]] contracts::Result<std::pair<std::int64_t, std::string>> key_for_new(std::string_view case_ref,
                                                                                    std::string_view message_id,
                                                                                    contracts::Millis now);

  // What opening a payload sealed under case key `id` needs: the raw key, or, when the key was
  // shredded, `shredded` = "payload shredded on <RFC 3339 time> (<shred_reason>)".
  struct ForReading {
    std::string key;
    std::string shredded;
  };
  [[nodiscard]] contracts::Result<ForReading> key_for_reading(std::int64_t id);

  // The open transaction ended: at rollback the keys made in it are forgotten.
  void transaction_ended(bool committed);
  // Forgets key `id` (after it was shredded), wiping its bytes.
  void forget(std::int64_t id);

 private:
  CaseKeyring() = default;
  contracts::Result<std::string> unwrap(std::string_view case_ref, std::string_view message_id,
                                        const std::string& wrapped, const std::string& key_id);
  void remember(std::int64_t id, std::string case_ref, std::string message_id, std::string key);

  sqlite3* db_ = nullptr;
  std::string payload_key_;
  std::string key_id_;
  StmtHandle find_live_, find_by_id_, insert_;
  struct Cached {
    std::string case_ref, message_id, key;
  };
  std::map<std::int64_t, Cached> by_id_;
  std::map<std::string, std::int64_t> live_;  // live_key(case_ref, message_id) -> id
  std::deque<std::int64_t> order_;            // oldest first, for eviction
  std::vector<std::int64_t> made_in_transaction_;
};

}  // namespace broker::store
