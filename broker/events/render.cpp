#include "broker/events/render.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "contracts/html_escape.h"
#include "contracts/json_text.h"
#include "contracts/time.h"
#include "contracts/validator.h"

namespace broker::events {
namespace {

using nlohmann::json;

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json removals_json(const std::vector<Removal>& removed) {
  json list = json::array();
  for (const auto& r : removed) list.push_back({{"pointer", r.pointer}, {"rule", r.rule}});
  return list;
}

// The detail object of each kind, field for field as broker/core/event_detail.cpp, broker/ops and
// the `keten log` commands wrote it into schema-4 rows. nullopt: the kind has no detail.
std::optional<json> record_json(const Record& record) {
  return std::visit(
      Overloaded{
          [](const Started& s) -> std::optional<json> {
            json j{{"config_digest", s.config_digest},
                   {"contracts_digest", s.contracts_digest},
                   {"signing_key", s.signing_key},
                   {"partners", s.partners},
                   {"contracts", s.contracts},
                   {"config_changed", s.config_changed},
                   {"contracts_changed", s.contracts_changed}};
            if (s.previous_config_digest) j["previous_config_digest"] = *s.previous_config_digest;
            if (s.previous_contracts_digest) j["previous_contracts_digest"] = *s.previous_contracts_digest;
            if (!s.clock_basis.empty()) {
              // As the broker has written it since it read the kernel's clock state: one object.
              json c{{"source", s.clock_source}, {"sync", to_string(s.clock_sync)}, {"basis", s.clock_basis}};
              if (s.clock_error_us >= 0) c["estimated_error_us"] = s.clock_error_us;
              j["clock"] = std::move(c);
            } else if (!s.clock_source.empty()) {
              j["clock_source"] = s.clock_source;
              j["clock_synced"] = s.clock_synced;
            }
            return j;
          },
          [](const Received& r) -> std::optional<json> { return json{{"bytes", r.bytes}}; },
          [](const Rejected& r) -> std::optional<json> {
            json j{{"code", contracts::to_string(r.code)}, {"detail", r.detail}};
            auto& list = j["errors"] = json::array();
            for (const auto& e : r.errors) list.push_back({{"pointer", e.pointer}, {"code", e.code}, {"reason", e.reason}});
            return j;
          },
          [](const Accepted& a) -> std::optional<json> {
            json j{{"recipients", a.recipients}};
            for (const auto& k : a.skipped) j["skipped"].push_back({{"partner", k.partner}, {"reason", k.reason}});
            if (!a.correlation_id.empty()) j["correlation_id"] = a.correlation_id;
            if (!a.causation_id.empty()) j["causation_id"] = a.causation_id;
            if (!a.supersedes.empty()) j["supersedes"] = a.supersedes;
            if (a.occurred_at != 0) j["occurred_at"] = a.occurred_at;
            if (a.recorded_at != 0) j["recorded_at"] = a.recorded_at;
            if (!a.origin.empty()) j["origin"] = a.origin;
            if (a.assurance != Assurance::kUnrecorded) j["assurance"] = to_string(a.assurance);
            if (!a.retention.empty()) j["retention"] = a.retention;
            if (!a.legal_basis.empty()) j["legal_basis"] = a.legal_basis;
            for (const auto& v : a.evidence) {
              // A plain value as the JSON value itself; a sealed one as hex, never opened here.
              json item{{"pointer", v.pointer}};
              if (v.sealed) {
                item["sealed"] = hex(reinterpret_cast<const std::uint8_t*>(v.value.data()), v.value.size());
              } else {
                item["value"] = json::parse(v.value, nullptr, false);
              }
              j["evidence"].push_back(std::move(item));
            }
            return j;
          },
          [](const Duplicate& d) -> std::optional<json> {
            return json{{"first_payload_digest", hex(d.first_payload_digest)}, {"same_payload", d.same_payload}};
          },
          [](const Routed& r) -> std::optional<json> {
            if (r.basis.empty()) return std::nullopt;
            return json{{"basis", r.basis}};
          },
          [](const Delivered& d) -> std::optional<json> { return json{{"attempt", d.attempt}}; },
          [](const Redelivered& d) -> std::optional<json> { return json{{"attempt", d.attempt}}; },
          [](const Acknowledged&) -> std::optional<json> { return std::nullopt; },
          [](const Nacked& n) -> std::optional<json> { return json{{"reason", n.reason}}; },
          [](const DeadLettered& d) -> std::optional<json> {
            if (!d.reason.empty()) return json{{"reason", d.reason}};
            return json{{"attempt", d.attempt}};
          },
          [](const Redacted& r) -> std::optional<json> {
            return json{{"removed", removals_json(r.removed)}, {"basis", r.basis}};
          },
          [](const PolicyAllowed& p) -> std::optional<json> {
            return json{{"removed", removals_json(p.removed)}, {"basis", p.basis}};
          },
          [](const NormViolated& n) -> std::optional<json> {
            json j{{"norm", n.norm},
                   {"kind", contracts::to_string(n.kind)},
                   {"state", n.is_open() ? "open" : "closed"},
                   {"due_at", n.due_at},
                   {"done_at", n.done_at},
                   {"by_ms", n.by_ms},
                   {"explanation", n.explanation}};
            if (!n.expected_contract.empty()) j["expected_contract"] = n.expected_contract;
            if (!n.late_party.empty()) j["late_party"] = n.late_party;
            if (!n.key.empty()) j["key"] = n.key;
            if (!n.corrects.empty()) j["corrects"] = n.corrects;
            if (!n.is_open()) j["was_open"] = n.was_open;
            return j;
          },
          [](const Alert& a) -> std::optional<json> {
            json j{{"kind", to_string(a.kind)}, {"subject", a.subject}, {"value", a.value}, {"threshold", a.threshold}};
            if (!a.cases.empty()) j["cases"] = a.cases;
            return j;
          },
          [](const Resent& r) -> std::optional<json> {
            json j{{"new_message_id", r.new_message_id},
                        {"target", r.target},
                        {"status", contracts::to_string(r.status)},
                        {"target_log_seq", r.target_log_seq},
                        {"user", r.user}};
            if (!r.via.empty()) j["via"] = r.via;
            if (!r.purpose.empty()) j["purpose"] = r.purpose;
            return j;
          },
          [](const LogRead& l) -> std::optional<json> {
            json j{{"command", l.command}, {"user", l.user}};
            if (!l.purpose.empty()) j["purpose"] = l.purpose;
            if (!l.role.empty()) j["role"] = l.role;
            if (!l.via.empty()) j["via"] = l.via;
            if (!l.certificate_sha256.empty()) {
              j["certificate"] = {{"sha256", l.certificate_sha256}, {"subject", l.certificate_subject}};
            }
            return j;
          },
          [](const Undelivered& u) -> std::optional<json> { return json{{"attempt", u.attempt}, {"reason", u.reason}}; },
          [](const Shredded& s) -> std::optional<json> {
            json rules = json::array();
            for (const auto& r : s.rules) {
              rules.push_back(json{{"contract", r.contract},
                                   {"version", r.version},
                                   {"retention", r.retention},
                                   {"legal_basis", r.legal_basis}});
            }
            return json{{"rules", std::move(rules)}, {"messages", s.messages}};
          },
          [](const Hold& h) -> std::optional<json> { return json{{"reason", h.reason}, {"user", h.user}}; },
          [](const Release& h) -> std::optional<json> { return json{{"reason", h.reason}, {"user", h.user}}; },
          [](const Processed& p) -> std::optional<json> {
            json j{{"outcome", contracts::to_string(p.outcome)}, {"acknowledged_at", p.acknowledged_at}};
            if (!p.reason.empty()) j["reason"] = p.reason;
            return j;
          },
      },
      record);
}

// --- the hot details written by hand ---
// Four kinds are written once or more per message (received, accepted, delivered or redelivered,
// and a policy decision per delivery of a sensitive contract). Building an nlohmann object for each
// cost more than the row's SQL, so their text is written directly: byte for byte what dump() gives
// (keys in byte order, no spaces, the same escapes; render_test and legacy_test compare them).
// Text that is not valid UTF-8 takes the nlohmann path, which replaces it.

void put_key(std::string& out, std::string_view key) {
  out += out.size() > 1 ? "," : "";
  contracts::append_json_string(out, key);
  out += ':';
}

bool all_utf8(std::initializer_list<const std::string*> texts) {
  for (const auto* t : texts) {
    if (!contracts::is_valid_utf8(*t)) return false;
  }
  return true;
}

std::optional<std::string> fast_accepted(const Accepted& a) {
  if (!a.evidence.empty() || !a.retention.empty() || !a.legal_basis.empty()) return std::nullopt;
  if (!all_utf8({&a.correlation_id, &a.causation_id, &a.supersedes, &a.origin})) return std::nullopt;
  for (const auto& r : a.recipients) {
    if (!contracts::is_valid_utf8(r)) return std::nullopt;
  }
  for (const auto& k : a.skipped) {
    if (!all_utf8({&k.partner, &k.reason})) return std::nullopt;
  }
  std::string out = "{";
  out.reserve(96 + 16 * a.recipients.size());
  if (a.assurance != Assurance::kUnrecorded) {
    put_key(out, "assurance");
    contracts::append_json_string(out, to_string(a.assurance));
  }
  if (!a.causation_id.empty()) {
    put_key(out, "causation_id");
    contracts::append_json_string(out, a.causation_id);
  }
  if (!a.correlation_id.empty()) {
    put_key(out, "correlation_id");
    contracts::append_json_string(out, a.correlation_id);
  }
  if (a.occurred_at != 0) {
    put_key(out, "occurred_at");
    out += std::to_string(a.occurred_at);
  }
  if (!a.origin.empty()) {
    put_key(out, "origin");
    contracts::append_json_string(out, a.origin);
  }
  put_key(out, "recipients");
  out += '[';
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    if (i) out += ',';
    contracts::append_json_string(out, a.recipients[i]);
  }
  out += ']';
  if (a.recorded_at != 0) {
    put_key(out, "recorded_at");
    out += std::to_string(a.recorded_at);
  }
  if (!a.skipped.empty()) {
    put_key(out, "skipped");
    out += '[';
    for (std::size_t i = 0; i < a.skipped.size(); ++i) {
      out += i ? ",{\"partner\":" : "{\"partner\":";
      contracts::append_json_string(out, a.skipped[i].partner);
      out += ",\"reason\":";
      contracts::append_json_string(out, a.skipped[i].reason);
      out += '}';
    }
    out += ']';
  }
  if (!a.supersedes.empty()) {
    put_key(out, "supersedes");
    contracts::append_json_string(out, a.supersedes);
  }
  out += '}';
  return out;
}

std::optional<std::string> fast_policy(const std::vector<Removal>& removed, const std::string& basis) {
  if (!contracts::is_valid_utf8(basis)) return std::nullopt;
  for (const auto& r : removed) {
    if (!all_utf8({&r.pointer, &r.rule})) return std::nullopt;
  }
  std::string out = "{\"basis\":";
  out.reserve(32 + basis.size() + 48 * removed.size());
  contracts::append_json_string(out, basis);
  out += ",\"removed\":[";
  for (std::size_t i = 0; i < removed.size(); ++i) {
    out += i ? ",{\"pointer\":" : "{\"pointer\":";
    contracts::append_json_string(out, removed[i].pointer);
    out += ",\"rule\":";
    contracts::append_json_string(out, removed[i].rule);
    out += '}';
  }
  out += "]}";
  return out;
}

// The hand-written detail of `record`, or nullopt for the nlohmann path.
std::optional<std::string> fast_detail(const Record& record) {
  switch (record.index() + 1) {
    case static_cast<std::size_t>(Kind::kReceived):
      return "{\"bytes\":" + std::to_string(std::get<Received>(record).bytes) + "}";
    case static_cast<std::size_t>(Kind::kDelivered):
      return "{\"attempt\":" + std::to_string(std::get<Delivered>(record).attempt) + "}";
    case static_cast<std::size_t>(Kind::kRedelivered):
      return "{\"attempt\":" + std::to_string(std::get<Redelivered>(record).attempt) + "}";
    case static_cast<std::size_t>(Kind::kAccepted): return fast_accepted(std::get<Accepted>(record));
    case static_cast<std::size_t>(Kind::kRedacted): {
      const auto& r = std::get<Redacted>(record);
      return fast_policy(r.removed, r.basis);
    }
    case static_cast<std::size_t>(Kind::kPolicyAllowed): {
      const auto& p = std::get<PolicyAllowed>(record);
      return fast_policy(p.removed, p.basis);
    }
    default: return std::nullopt;
  }
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string short_id(const std::string& id) { return id.size() > 8 ? id.substr(0, 8) : id; }

std::string what(const Event& e) {
  if (e.contract.empty()) return "message " + short_id(e.message_id);
  return e.contract + " v" + std::to_string(e.version) + " (id " + short_id(e.message_id) + ")";
}

bool is_delivery_kind(Kind k) {
  return k == Kind::kRouted || k == Kind::kDelivered || k == Kind::kRedelivered || k == Kind::kAcknowledged ||
         k == Kind::kNacked || k == Kind::kDeadLettered || k == Kind::kRedacted || k == Kind::kPolicyAllowed ||
         k == Kind::kProcessed;
}

}  // namespace

std::string hex(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0x0f];
  }
  return out;
}

std::string detail_json(const Event& e) {
  if (e.legacy_detail) return *e.legacy_detail;
  if (auto fast = fast_detail(e.record)) return std::move(*fast);
  auto j = record_json(e.record);
  return j ? dump(*j) : std::string();
}

json detail_object(const Event& e) {
  const std::string text = detail_json(e);
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string lane_of(const Event& e) {
  if (is_delivery_kind(e.kind()) && !e.recipient.empty()) return e.recipient;
  return e.sender;
}

namespace {

std::string duration_words(std::int64_t ms) {
  if (ms < 0) return "-" + duration_words(-ms);
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  const std::int64_t parts[] = {86'400'000, 3'600'000, 60'000, 1'000};
  const char* units[] = {"d", "h", "m", "s"};
  for (int i = 0; i < 4; ++i) {
    const std::int64_t n = ms / parts[i];
    ms %= parts[i];
    if (n > 0) out += (out.empty() ? "" : " ") + std::to_string(n) + units[i];
  }
  return out;
}

// The shredded key's case: the case_ref, or the message of a message without one.
std::string shred_subject(const Event& e) {
  return e.case_ref.empty() ? "(none; message " + e.message_id + ")" : e.case_ref;
}

// broker/audit/replay.cpp's describe_violation, from the record.
std::string describe_violation(const Event& e, const NormViolated& n) {
  auto time_or = [](Millis t) { return t == 0 ? std::string("?") : contracts::format_rfc3339(t); };
  std::string late_party = n.late_party;
  if (late_party.empty()) {
    late_party = !e.recipient.empty()             ? e.recipient
                 : !n.expected_contract.empty() ? "the producer of " + n.expected_contract
                 : e.sender.empty()             ? std::string("?")
                                                : e.sender;
  }
  const bool open = n.is_open();
  const bool met_in_time = !open && n.done_at != 0 && n.due_at != 0 && n.done_at <= n.due_at;
  std::string text = "NORM VIOLATED " + (n.norm.empty() ? std::string("(unnamed norm)") : n.norm) + " (" +
                     std::string(contracts::to_string(n.kind)) + ") on " + what(e) + ": " + late_party + (met_in_time ? " not late after all" : " late");
  if (!n.expected_contract.empty()) text += " with " + n.expected_contract;
  text += "; due " + time_or(n.due_at);
  if (open) {
    text += "; still OPEN at " + contracts::format_rfc3339(e.at) + ", " + duration_words(n.by_ms) + " overdue";
  } else if (met_in_time) {
    text += "; met in time at " + contracts::format_rfc3339(n.done_at) + " after all (reported after it was recorded open)";
  } else {
    text += "; met late at " + time_or(n.done_at) + ", " + duration_words(n.by_ms) + " late";
  }
  if (!n.corrects.empty()) text += "; obligation of " + short_id(n.corrects) + ", which this message corrects";
  if (!n.explanation.empty()) text += " [" + n.explanation + "]";
  return text;
}

// "/a = 1, /b (sealed), /c = \"x\" (sealed, opened)": the values of the evidence fields; a sealed one
// only when `unseal` opens it.
std::string evidence_words(const Event& e, const std::vector<Evidence>& evidence, const Unsealer& unseal) {
  std::vector<std::string> items;
  for (const auto& v : evidence) {
    if (!v.sealed) {
      items.push_back(v.pointer + " = " + v.value);
      continue;
    }
    std::optional<std::string> opened = unseal ? unseal(e, v) : std::nullopt;
    items.push_back(opened ? v.pointer + " = " + *opened + " (sealed, opened)" : v.pointer + " (sealed)");
  }
  return join(items);
}

}  // namespace

std::string describe(const Event& e, const Unsealer& unseal) {
  return std::visit(
      Overloaded{
          [&](const Started& s) {
            std::string text = "broker started (config " + s.config_digest.substr(0, 12) + ", contracts " +
                               s.contracts_digest.substr(0, 12);
            // The clock the broker found at start.
            if (!s.clock_basis.empty()) {
              text += "; clock " + (s.clock_source.empty() ? std::string("(source unknown)") : s.clock_source) +
                      ", " + std::string(to_string(s.clock_sync)) + " per " + s.clock_basis;
            }
            return text + ")";
          },
          [&](const Received&) { return (e.sender.empty() ? "someone" : e.sender) + " submitted " + what(e); },
          [&](const Rejected& r) {
            std::string text = "broker rejected " + what(e) + " from " + (e.sender.empty() ? "?" : e.sender) + ": " +
                               std::string(contracts::to_string(r.code)) + ", " + r.detail;
            std::vector<std::string> problems;
            for (const auto& f : r.errors) problems.push_back(f.pointer + " " + f.code + ": " + f.reason);
            if (!problems.empty()) text += " [" + join(problems, "; ") + "]";
            return text;
          },
          [&](const Accepted& a) {
            std::string text = "broker accepted " + what(e) + " from " + e.sender + " for " +
                               (a.recipients.empty() ? "nobody" : join(a.recipients));
            if (!a.supersedes.empty()) text += ", superseding " + a.supersedes;
            if (!a.origin.empty()) text += ", origin " + a.origin;
            if (!a.evidence.empty()) text += "; evidence " + evidence_words(e, a.evidence, unseal);
            if (!a.retention.empty()) text += "; retention " + a.retention + " (" + a.legal_basis + ")";
            return text;
          },
          [&](const Duplicate&) { return e.sender + " resubmitted " + what(e) + "; the first receipt was returned"; },
          [&](const Routed& r) {
            return what(e) + " queued for " + e.recipient + " (delivery " + std::to_string(e.delivery_id) + ")" +
                   (r.basis.empty() ? "" : ", under " + r.basis);
          },
          [&](const Delivered& d) {
            return what(e) + " delivered to " + e.recipient + " (attempt " + std::to_string(d.attempt) + ")";
          },
          [&](const Redelivered& d) {
            return what(e) + " delivered again to " + e.recipient + " (attempt " + std::to_string(d.attempt) + ")";
          },
          [&](const Acknowledged&) { return e.recipient + " acknowledged " + what(e); },
          [&](const Nacked& n) { return e.recipient + " refused " + what(e) + ": " + n.reason; },
          [&](const DeadLettered& d) {
            // Why, when it was not the attempts running out: "expired" (past the contract's ttl),
            // or a stored payload that cannot be opened.
            return "broker gave up delivering " + what(e) + " to " + e.recipient + (d.reason.empty() ? "" : ": " + d.reason);
          },
          [&](const Redacted& r) {
            std::vector<std::string> removed;
            for (const auto& f : r.removed) removed.push_back(f.pointer + " (" + f.rule + ")");
            return "policy removed " + join(removed) + " from " + what(e) + " for " + e.recipient;
          },
          [&](const PolicyAllowed& p) {
            return "medical fields of " + what(e) + " went to " + e.recipient + " (" + p.basis + ")";
          },
          // As replay writes it: who was late, due when, open or met late, by how much.
          [&](const NormViolated& n) { return describe_violation(e, n); },
          [&](const Alert&) {
            const std::string detail = detail_json(e);
            return std::string("alert") + (detail.empty() ? "" : " " + detail);
          },
          [&](const Resent& r) { return "operator re-sent " + what(e) + " as " + r.new_message_id + " to " + r.target; },
          [&](const LogRead& l) {
            return "log read with '" + l.command + "' by " + l.user + (l.purpose.empty() ? "" : " for " + l.purpose);
          },
          // Replay has no sentence of its own for it yet: the name and the detail, as for alerts.
          [&](const Undelivered&) { return "undelivered " + detail_json(e); },
          [&](const Shredded& s) {
            std::vector<std::string> rules;
            for (const auto& r : s.rules) {
              rules.push_back(r.contract + " v" + std::to_string(r.version) + " retention " + r.retention +
                              (r.legal_basis.empty() ? "" : ", basis " + r.legal_basis));
            }
            return "payloads of case " + shred_subject(e) + " shredded (" + std::to_string(s.messages) +
                   " message" + (s.messages == 1 ? "" : "s") + "; " + join(rules) + ")";
          },
          [&](const Hold& h) { return "legal hold on case " + e.case_ref + " by " + h.user + ": " + h.reason; },
          [&](const Release& h) { return "legal hold on case " + e.case_ref + " released by " + h.user + ": " + h.reason; },
          [&](const Processed& p) {
            std::string text = e.recipient + " processed " + what(e) + " (delivery " + std::to_string(e.delivery_id) + "): ";
            if (p.outcome == contracts::ProcessedOutcome::kRefused) return text + "refused: " + p.reason;
            text += "done";
            if (!p.reason.empty()) text += " (" + p.reason + ")";
            if (p.acknowledged_at != 0 && e.at >= p.acknowledged_at) {
              text += ", " + duration_words(e.at - p.acknowledged_at) + " after the acknowledgement";
            }
            return text;
          },
      },
      e.record);
}

std::string text_line(const Event& e, std::uint64_t seq, const Unsealer& unseal) {
  char number[32];
  std::snprintf(number, sizeof number, "#%-6llu", static_cast<unsigned long long>(seq));
  std::string name(to_string(e.kind()));
  name.resize(std::max<std::size_t>(name.size(), 13), ' ');
  return contracts::format_rfc3339(e.at) + "  " + number + " " + name + " " + describe(e, unseal);
}

json event_object(const Event& e, std::uint64_t seq, std::string_view hash, const Unsealer& unseal) {
  json j{{"seq", seq},
              {"at", contracts::format_rfc3339(e.at)},
              {"at_ms", e.at},
              {"event", to_string(e.kind())},
              {"message_id", e.message_id},
              {"contract", e.contract},
              {"version", e.version},
              {"sender", e.sender},
              {"recipient", e.recipient},
              {"delivery_id", e.delivery_id},
              {"payload_digest", e.payload_digest ? hex(*e.payload_digest) : std::string()},
              {"detail", detail_object(e)},
              {"hash", hash},
              {"description", describe(e, unseal)}};
  if (const auto* a = std::get_if<Accepted>(&e.record); a && !a->evidence.empty()) {
    json& list = j["evidence"] = json::array();
    for (const auto& v : a->evidence) {
      json item{{"pointer", v.pointer}, {"sealed", v.sealed}};
      std::optional<std::string> text = v.sealed ? (unseal ? unseal(e, v) : std::nullopt) : std::optional(v.value);
      if (text) item["value"] = json::parse(*text, nullptr, false);
      list.push_back(std::move(item));
    }
  }
  if (e.trace_id) j["trace_id"] = hex(*e.trace_id);
  if (e.span_id) j["span_id"] = hex(*e.span_id);
  if (!e.processing_activity.empty()) j["processing_activity"] = e.processing_activity;
  return j;
}

std::string html_card(const Event& e, const Unsealer& unseal) {
  return "<div class=\"card\"><b>" + contracts::html_escape(std::string(to_string(e.kind()))) + "</b><br>" +
         contracts::html_escape(describe(e, unseal)) + "</div>";
}

std::string html_row_attributes(const Event& e, std::uint64_t seq) {
  const std::string name = contracts::html_escape(std::string(to_string(e.kind())));
  return "class=\"event ev-" + name + "\" data-seq=\"" + std::to_string(seq) + "\" data-event=\"" + name + "\"";
}

}  // namespace broker::events
