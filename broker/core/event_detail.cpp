#include "broker/core/event_detail.h"

#include <nlohmann/json.hpp>

namespace broker::core {

std::string rejected_detail(contracts::ErrorCode code, const std::string& detail,
                            const std::vector<contracts::FieldError>& errors) {
  nlohmann::json j{{"code", contracts::to_string(code)}, {"detail", detail}};
  auto& list = j["errors"] = nlohmann::json::array();
  for (const auto& e : errors) list.push_back({{"pointer", e.pointer}, {"code", e.code}, {"reason", e.reason}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string accepted_detail(const contracts::Header& h, const std::vector<std::string>& recipients) {
  nlohmann::json j{{"recipients", recipients}};
  if (!h.correlation_id.empty()) j["correlation_id"] = h.correlation_id;
  if (!h.causation_id.empty()) j["causation_id"] = h.causation_id;
  if (!h.supersedes.empty()) j["supersedes"] = h.supersedes;
  if (h.occurred_at != 0) j["occurred_at"] = h.occurred_at;
  if (h.recorded_at != 0) j["recorded_at"] = h.recorded_at;
  if (!h.origin.empty()) j["origin"] = h.origin;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string received_detail(std::size_t bytes) { return nlohmann::json{{"bytes", bytes}}.dump(); }

std::string attempt_detail(std::uint32_t attempt) { return nlohmann::json{{"attempt", attempt}}.dump(); }

std::string reason_detail(const std::string& reason) {
  return nlohmann::json{{"reason", reason}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string duplicate_detail(const std::string& first_digest, bool same_payload) {
  return nlohmann::json{{"first_payload_digest", first_digest}, {"same_payload", same_payload}}.dump();
}

}  // namespace broker::core
