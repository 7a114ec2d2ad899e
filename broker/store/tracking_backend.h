#pragma once
// Private to broker_store and broker_store_pg: what a TrackingTables backend implements, one call
// per public method of TrackingTables (tracking.h says what each promises). The SQLite backend is in
// tracking.cpp, PostgreSQL's in tracking_pg.cpp. Values are passed as stored: a norm key's value
// already hashed when the store hashes them (TrackingTables does that, the same for both).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/tracking.h"

namespace broker::store {

// The key norm key values are hashed under (meta norm_hash_key, sealed by the payload key), from
// the stored value (hex; nullopt when there is none) and the payload key: "" without a payload key
// (values stay plaintext, as the payloads do), unless the store already holds hashes: then tracking
// could never match them again, so it is refused (kStorage). At the first open with a payload key a
// new key is made and `new_sealed_hex` is what the backend must store.
struct NormHashKey {
  std::string key;  // 32 raw bytes, or ""; wiped by the destructor
  std::string new_sealed_hex;
  NormHashKey() = default;
  NormHashKey(std::string k, std::string hex) : key(std::move(k)), new_sealed_hex(std::move(hex)) {}
  NormHashKey(NormHashKey&&) = default;
  NormHashKey& operator=(NormHashKey&&) = default;
  ~NormHashKey();
};
[[nodiscard]] Result<NormHashKey> norm_hash_key(const std::optional<std::string>& stored_hex,
                                                std::string_view payload_key);

struct TrackingTables::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  virtual ~Impl();

  std::string hash_key;  // 32 raw bytes, or "": norm key values stored as they are (no payload key)

  virtual Result<void> add_key(std::string_view pointer, std::string_view stored_value, const NormKey& key) = 0;
  virtual Result<std::vector<NormKey>> keys(std::string_view pointer, std::string_view stored_value) = 0;
  virtual Result<void> watch(std::string_view message_id, Millis due_at) = 0;
  virtual Result<void> unwatch(std::string_view message_id) = 0;
  virtual Result<bool> watched(std::string_view message_id) = 0;
  virtual Result<std::vector<std::string>> due(Millis now, std::size_t limit) = 0;
  virtual Result<std::optional<Millis>> next_due() = 0;
  virtual Result<RecordedViolation> recorded(std::string_view key) = 0;
  virtual Result<void> record(std::string_view key, RecordedViolation state) = 0;
  virtual Result<std::vector<DeliveryTimes>> deliveries_of(std::string_view message_id) = 0;
  virtual Result<std::map<std::string, std::uint64_t, std::less<>>> backlog_counts() = 0;
  virtual Result<std::vector<std::string>> consent_message_ids() = 0;
};

}  // namespace broker::store
