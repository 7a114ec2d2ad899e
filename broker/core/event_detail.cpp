#include "broker/core/event_detail.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "contracts/digest.h"
#include "contracts/norms.h"
#include "contracts/validator.h"

namespace broker::core {
namespace {

// The hot rows' details (one of each per message) are written by hand: building an nlohmann object
// per row cost more than the row's SQL. The text is byte for byte what nlohmann's dump() gives
// (keys in byte order, no spaces, the same escapes), so the two writers can be mixed.
void put_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0x0f];
          out += kHex[c & 0x0f];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void put_key(std::string& out, std::string_view key) {
  out += out.size() > 1 ? "," : "";
  put_json_string(out, key);
  out += ':';
}

// `[{"<a>":"..","<b>":".."},...]`, `a` before `b` in byte order as nlohmann writes them: one
// object per item, its two strings from `first(item)` and `second(item)`.
template <typename Items, typename First, typename Second>
void put_pair_objects(std::string& out, const Items& items, std::string_view a, First first, std::string_view b,
                      Second second) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += i ? ",{" : "{";
    put_json_string(out, a);
    out += ':';
    put_json_string(out, first(items[i]));
    out += ',';
    put_json_string(out, b);
    out += ':';
    put_json_string(out, second(items[i]));
    out += '}';
  }
  out += ']';
}

}  // namespace

audit::LogRecord message_event(const char* name, const contracts::Header& h, const std::string& sender,
                               const std::string& payload_digest, contracts::Millis at) {
  audit::LogRecord e;
  e.at = at;
  e.event = name;
  e.message_id = h.message_id;
  e.contract = h.contract;
  e.version = h.version;
  e.case_ref = h.case_ref;
  e.sender = sender;
  e.payload_digest = payload_digest;
  return e;
}

std::string rejected_detail(contracts::ErrorCode code, const std::string& detail,
                            const std::vector<contracts::FieldError>& errors) {
  nlohmann::json j{{"code", contracts::to_string(code)}, {"detail", detail}};
  auto& list = j["errors"] = nlohmann::json::array();
  for (const auto& e : errors) list.push_back({{"pointer", e.pointer}, {"code", e.code}, {"reason", e.reason}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string accepted_detail(const contracts::Header& h, const std::vector<std::string>& recipients,
                            const std::vector<Skipped>& skipped, std::string_view assurance) {
  // Invalid UTF-8 cannot reach here (the pipeline refuses it in the header); if it ever did,
  // nlohmann's replacement characters keep the detail valid JSON.
  bool plain = true;
  for (const auto* text : {&h.correlation_id, &h.causation_id, &h.supersedes, &h.origin}) {
    plain = plain && contracts::is_valid_utf8(*text);
  }
  for (const auto& r : recipients) plain = plain && contracts::is_valid_utf8(r);
  for (const auto& k : skipped) plain = plain && contracts::is_valid_utf8(k.partner) && contracts::is_valid_utf8(k.reason);
  if (!plain) {
    nlohmann::json j{{"recipients", recipients}};
    if (!assurance.empty()) j["assurance"] = assurance;
    for (const auto& k : skipped) j["skipped"].push_back({{"partner", k.partner}, {"reason", k.reason}});
    if (!h.correlation_id.empty()) j["correlation_id"] = h.correlation_id;
    if (!h.causation_id.empty()) j["causation_id"] = h.causation_id;
    if (!h.supersedes.empty()) j["supersedes"] = h.supersedes;
    if (h.occurred_at != 0) j["occurred_at"] = h.occurred_at;
    if (h.recorded_at != 0) j["recorded_at"] = h.recorded_at;
    if (!h.origin.empty()) j["origin"] = h.origin;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = "{";
  out.reserve(96 + 16 * recipients.size());
  if (!assurance.empty()) {  // keys in byte order, as nlohmann writes them
    put_key(out, "assurance");
    put_json_string(out, assurance);
  }
  if (!h.causation_id.empty()) {
    put_key(out, "causation_id");
    put_json_string(out, h.causation_id);
  }
  if (!h.correlation_id.empty()) {
    put_key(out, "correlation_id");
    put_json_string(out, h.correlation_id);
  }
  if (h.occurred_at != 0) {
    put_key(out, "occurred_at");
    out += std::to_string(h.occurred_at);
  }
  if (!h.origin.empty()) {
    put_key(out, "origin");
    put_json_string(out, h.origin);
  }
  put_key(out, "recipients");
  out += '[';
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (i) out += ',';
    put_json_string(out, recipients[i]);
  }
  out += ']';
  if (h.recorded_at != 0) {
    put_key(out, "recorded_at");
    out += std::to_string(h.recorded_at);
  }
  if (!skipped.empty()) {
    put_key(out, "skipped");
    put_pair_objects(out, skipped, "partner", [](const Skipped& k) -> const std::string& { return k.partner; },
                     "reason", [](const Skipped& k) -> const std::string& { return k.reason; });
  }
  if (!h.supersedes.empty()) {
    put_key(out, "supersedes");
    put_json_string(out, h.supersedes);
  }
  out += '}';
  return out;
}

std::string received_detail(std::size_t bytes) { return "{\"bytes\":" + std::to_string(bytes) + "}"; }

std::string attempt_detail(std::uint32_t attempt) { return "{\"attempt\":" + std::to_string(attempt) + "}"; }

std::string policy_detail(const std::vector<std::pair<std::string, std::string>>& removed, const std::string& basis) {
  // One per delivery of a contract with sensitive fields: written by hand like the hot rows above.
  bool plain = contracts::is_valid_utf8(basis);
  for (const auto& [pointer, rule] : removed) plain = plain && contracts::is_valid_utf8(pointer) && contracts::is_valid_utf8(rule);
  if (!plain) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [pointer, rule] : removed) list.push_back({{"pointer", pointer}, {"rule", rule}});
    return nlohmann::json{{"removed", list}, {"basis", basis}}.dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace);
  }
  std::string out = "{";
  out.reserve(32 + basis.size() + 48 * removed.size());
  put_key(out, "basis");
  put_json_string(out, basis);
  using Removal = std::pair<std::string, std::string>;
  put_key(out, "removed");
  put_pair_objects(out, removed, "pointer", [](const Removal& r) -> const std::string& { return r.first; }, "rule",
                   [](const Removal& r) -> const std::string& { return r.second; });
  out += '}';
  return out;
}

std::string reason_detail(const std::string& reason) {
  return nlohmann::json{{"reason", reason}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string undelivered_detail(std::uint32_t attempt, const std::string& reason) {
  return nlohmann::json{{"attempt", attempt}, {"reason", reason}}.dump(-1, ' ', false,
                                                                      nlohmann::json::error_handler_t::replace);
}

std::string duplicate_detail(const std::string& first_digest, bool same_payload) {
  return nlohmann::json{{"first_payload_digest", first_digest}, {"same_payload", same_payload}}.dump();
}

std::string norm_violation_detail(const contracts::NormViolation& v, bool was_open, const std::string& key,
                                  const std::string& corrects) {
  nlohmann::json j{{"norm", v.norm_id},
                   {"kind", contracts::to_string(v.kind)},
                   {"state", v.done_at == 0 ? "open" : "closed"},
                   {"due_at", v.due_at},
                   {"done_at", v.done_at},
                   {"by_ms", v.late_by},
                   {"explanation", v.explanation}};
  if (!v.expected_contract.empty()) j["expected_contract"] = v.expected_contract;
  if (!v.late_party.empty()) j["late_party"] = v.late_party;
  if (!key.empty()) j["key"] = key;
  if (!corrects.empty()) j["corrects"] = corrects;
  if (v.done_at != 0) j["was_open"] = was_open;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string config_digest(const BrokerOptions& o, const std::string& signing_public_key) {
  nlohmann::json partners = nlohmann::json::array();
  for (const auto& p : o.partners) {
    nlohmann::json partner{{"id", p.id}, {"name", p.name}, {"role", to_string(p.role)}, {"public_key", p.public_key}};
    if (!p.takes.empty()) partner["takes"] = p.takes;
    partners.push_back(std::move(partner));
  }
  // nlohmann's object keys are sorted, so the text (and the digest) has one form.
  nlohmann::json j{{"listen", o.listen},
                   {"store", o.store.string()},
                   {"contracts", o.contracts.string()},
                   {"max_message_bytes", o.max_message_bytes},
                   {"ack_timeout_ms", o.ack_timeout.count()},
                   {"max_attempts", o.max_attempts},
                   {"session_timeout_ms", o.session_timeout.count()},
                   {"max_batch", o.max_batch},
                   {"sync_full", o.sync_full},
                   {"checkpoint_interval_ms", o.checkpoint_interval.count()},
                   {"rate_limit", o.rate_limit},
                   {"rate_burst", o.rate_burst},
                   {"max_backlog", o.max_backlog},
                   {"max_credit", o.max_credit},
                   {"report_interval_ms", o.report_interval.count()},
                   {"report_producer", o.report_producer},
                   {"signing_public_key", signing_public_key},
                   {"partners", partners}};
  for (const auto& sup : o.supervisors) j["supervisors"].push_back({{"id", sup.id}, {"name", sup.name}});
  return contracts::sha256_hex(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string contract_set_digest(const std::filesystem::path& folder) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  }
  if (ec) return "";
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    listing += file.filename().string() + " " + contracts::sha256_hex(bytes) + "\n";
  }
  return contracts::sha256_hex(listing);
}

std::string started_detail(const std::string& config, const std::string& contract_set,
                           const std::string& signing_public_key, std::size_t partners,
                           std::size_t contract_count, const std::string& previous_detail) {
  nlohmann::json previous = nlohmann::json::parse(previous_detail, nullptr, false);
  if (!previous.is_object()) previous = nlohmann::json::object();
  nlohmann::json j{{"config_digest", config},
                   {"contracts_digest", contract_set},
                   {"signing_key", signing_public_key},
                   {"partners", partners},
                   {"contracts", contract_count},
                   {"config_changed", previous.value("config_digest", "") != config},
                   {"contracts_changed", previous.value("contracts_digest", "") != contract_set}};
  if (previous.contains("config_digest")) j["previous_config_digest"] = previous["config_digest"];
  if (previous.contains("contracts_digest")) j["previous_contracts_digest"] = previous["contracts_digest"];
  return j.dump();
}

}  // namespace broker::core
