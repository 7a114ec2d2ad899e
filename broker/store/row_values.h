#pragma once
// Private to broker_store and broker_store_pg: the values both backends store the same way. A
// recipient list is a JSON array of strings (docs/store-format.md); a delivery state its number
// (DeliveryState). Errors are kStorage "<what> : <cause>".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/store.h"

namespace broker::store {

// `items` as JSON array text; kStorage when an item is not valid UTF-8 (it is never altered).
[[nodiscard]] Result<std::string> encode_strings(const std::vector<std::string>& items, std::string_view what);
// The strings of a JSON array; kStorage when `text` is not an array of strings.
[[nodiscard]] Result<std::vector<std::string>> decode_strings(std::string_view text, std::string_view what);
// A stored delivery state; kStorage for a number DeliveryState does not have.
[[nodiscard]] Result<DeliveryState> to_state(std::int64_t value, std::string_view what);

}  // namespace broker::store
