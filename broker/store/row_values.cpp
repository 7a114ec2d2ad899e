#include "broker/store/row_values.h"

#include <nlohmann/json.hpp>

namespace broker::store {
namespace {

contracts::Error row_error(std::string_view what, std::string_view cause) {
  return contracts::Error{contracts::ErrorCode::kStorage, std::string(what) + " : " + std::string(cause)};
}

}  // namespace

Result<std::string> encode_strings(const std::vector<std::string>& items, std::string_view what) {
  try {
    return nlohmann::json(items).dump();  // strict: invalid UTF-8 throws rather than being altered
  } catch (const nlohmann::json::exception& e) {
    return row_error(what, e.what());
  }
}

Result<std::vector<std::string>> decode_strings(std::string_view text, std::string_view what) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) return row_error(what, "not a JSON array");
  std::vector<std::string> items;
  items.reserve(json.size());
  for (auto& item : json) {
    if (!item.is_string()) return row_error(what, "JSON array holds a non-string");
    items.push_back(std::move(item.get_ref<std::string&>()));
  }
  return items;
}

Result<DeliveryState> to_state(std::int64_t value, std::string_view what) {
  if (value < 0 || value > static_cast<std::int64_t>(DeliveryState::kDead)) {
    return row_error(what, "unknown delivery state " + std::to_string(value));
  }
  return static_cast<DeliveryState>(value);
}

}  // namespace broker::store
