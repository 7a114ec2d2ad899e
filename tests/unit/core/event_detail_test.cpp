#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "broker/core/event_detail.h"

// The hot details are written by hand; they must stay byte for byte what nlohmann's dump() gave
// (the handover log hashes them, and older rows were written that way).
namespace {

std::string reference_accepted(const contracts::Header& h, const std::vector<std::string>& recipients,
                               const std::vector<broker::core::Skipped>& skipped) {
  nlohmann::json j{{"recipients", recipients}};
  for (const auto& s : skipped) j["skipped"].push_back({{"partner", s.partner}, {"reason", s.reason}});
  if (!h.correlation_id.empty()) j["correlation_id"] = h.correlation_id;
  if (!h.causation_id.empty()) j["causation_id"] = h.causation_id;
  if (!h.supersedes.empty()) j["supersedes"] = h.supersedes;
  if (h.occurred_at != 0) j["occurred_at"] = h.occurred_at;
  if (h.recorded_at != 0) j["recorded_at"] = h.recorded_at;
  if (!h.origin.empty()) j["origin"] = h.origin;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("accepted detail is what nlohmann writes, for bare and full headers", "[core][event_detail]") {
  contracts::Header bare;
  bare.message_id = "m-1";
  CHECK(broker::core::accepted_detail(bare, {}, {}) == reference_accepted(bare, {}, {}));
  CHECK(broker::core::accepted_detail(bare, {"KMAR"}, {}) == R"({"recipients":["KMAR"]})");

  contracts::Header full = bare;
  full.correlation_id = "corr \"quoted\" \\ back";
  full.causation_id = "cause\twith\ntabs\x01";
  full.supersedes = "m-0";
  full.occurred_at = 1764400000000;
  full.recorded_at = -5;
  full.origin = "zaak/2025/ünïcode €";
  std::vector<std::string> recipients{"COA", "DVO", "GZA"};
  std::vector<broker::core::Skipped> skipped{{"KMAR", "takes versions 2"}, {"DJI", "why \"not\""}};
  const std::string hand = broker::core::accepted_detail(full, recipients, skipped);
  CHECK(hand == reference_accepted(full, recipients, skipped));
  CHECK(nlohmann::json::parse(hand)["causation_id"] == full.causation_id);
}

TEST_CASE("accepted detail with invalid UTF-8 falls back to replacement characters", "[core][event_detail]") {
  contracts::Header h;
  h.origin = "bad \xff byte";
  const std::string detail = broker::core::accepted_detail(h, {"COA"}, {});
  CHECK(detail == reference_accepted(h, {"COA"}, {}));
  CHECK(nlohmann::json::parse(detail)["origin"] == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("received and attempt details", "[core][event_detail]") {
  CHECK(broker::core::received_detail(1024) == nlohmann::json{{"bytes", 1024}}.dump());
  CHECK(broker::core::attempt_detail(3) == nlohmann::json{{"attempt", 3}}.dump());
}

TEST_CASE("policy detail is what nlohmann writes", "[core][event_detail]") {
  auto reference = [](const std::vector<std::pair<std::string, std::string>>& removed, const std::string& basis) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [pointer, rule] : removed) list.push_back({{"pointer", pointer}, {"rule", rule}});
    return nlohmann::json{{"removed", list}, {"basis", basis}}.dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace);
  };
  using Removed = std::vector<std::pair<std::string, std::string>>;
  const std::vector<std::pair<Removed, std::string>> cases{
      {{}, ""},
      {{}, "role:care-provider"},
      {{{"/fit_to_travel", "medical:no-consent"}}, ""},
      {{{"/fit_to_travel", "medical:no-consent"}, {"/medication/days", "projection:KLM"}}, "consent:c-1"},
      {{{"/a~1b\"q\\", "rule\twith\ncontrol\x01"}}, "consent:\"odd\" ü €"},
      {{{"/bad \xff", "medical:no-consent"}}, "x"},  // invalid UTF-8: nlohmann's replacement characters
      {{{"/p", "r"}}, "bad \xc3"},
  };
  for (const auto& [removed, basis] : cases) {
    INFO(basis);
    const std::string hand = broker::core::policy_detail(removed, basis);
    CHECK(hand == reference(removed, basis));
    CHECK_NOTHROW(nlohmann::json::parse(hand));
  }
  CHECK(broker::core::policy_detail({{"/x", "medical:no-consent"}}, "") ==
        R"({"basis":"","removed":[{"pointer":"/x","rule":"medical:no-consent"}]})");
}
