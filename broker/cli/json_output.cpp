#include "broker/cli/json_output.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace keten_cli {
namespace {

// Keys in the order the docs list them, which is also the order people read them in.
using Json = nlohmann::ordered_json;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Millis;
using contracts::Result;

Json time_or_null(Millis millis) {
  return millis == 0 ? Json(nullptr) : Json(format_rfc3339(millis));
}
Json text_or_null(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

// Partner data may hold invalid UTF-8; replace it rather than fail to print the line.
std::string dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string receipt_json(const contracts::Receipt& receipt) {
  Json errors = Json::array();
  for (const auto& e : receipt.errors) {
    errors.push_back(Json{{"pointer", e.pointer}, {"code", e.code}, {"reason", e.reason}});
  }
  Json json;
  json["message_id"] = receipt.message_id;
  json["status"] = contracts::to_string(receipt.status);
  json["recipients"] = receipt.recipients;
  json["log_seq"] = receipt.log_seq;
  json["accepted_at"] = time_or_null(receipt.accepted_at);
  json["code"] =
      receipt.code == ErrorCode::kNone ? Json(nullptr) : Json(contracts::to_string(receipt.code));
  json["detail"] = receipt.detail;
  json["errors"] = std::move(errors);
  return dump(json);
}

std::string delivery_json(const contracts::Deliver& deliver) {
  const auto& h = deliver.header;
  Json json;
  json["delivery_id"] = deliver.delivery_id;
  json["message_id"] = h.message_id;
  json["contract"] = h.contract;
  json["version"] = h.version;
  json["case"] = h.case_ref;
  json["sender"] = deliver.sender;
  json["recipients"] = h.recipients;
  json["correlation_id"] = text_or_null(h.correlation_id);
  json["causation_id"] = text_or_null(h.causation_id);
  json["supersedes"] = text_or_null(h.supersedes);
  json["occurred_at"] = time_or_null(h.occurred_at);
  json["recorded_at"] = time_or_null(h.recorded_at);
  json["accepted_at"] = time_or_null(deliver.accepted_at);
  json["attempt"] = deliver.attempt;
  json["removed_fields"] = deliver.removed_fields;
  Json payload = Json::parse(deliver.payload, nullptr, /*allow_exceptions=*/false);
  json["payload"] = payload.is_discarded() ? Json(deliver.payload) : std::move(payload);
  return dump(json);
}

}  // namespace keten_cli
