#pragma once
// The reads the expiry of deliveries needs (docs/contracts.md, "Expiry"): over the store's own
// tables, through its connection, as tracking.h does. One thread; failures are Error{kStorage, ...}.

#include <cstdint>
#include <string_view>
#include <vector>

#include "broker/store/sqlite_store.h"

namespace broker::store {

// Ids of up to `limit` pending deliveries of messages of `contract` v`version` accepted at or
// before `accepted_before`, lowest id first.
[[nodiscard]] Result<std::vector<std::int64_t>> pending_accepted_before(SqliteStore& store, std::string_view contract,
                                                                        std::uint32_t version, Millis accepted_before,
                                                                        std::size_t limit);

}  // namespace broker::store
