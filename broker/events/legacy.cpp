#include "broker/events/legacy.h"

#include <nlohmann/json.hpp>

#include "broker/events/render.h"

namespace broker::events {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using nlohmann::json;

// Field readers: a missing field or one of another type reads as the type's empty value; the
// caller's byte-for-byte check then keeps the original text.
std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::optional<std::string> optional_text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}
template <typename Int>
Int integer(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->get<Int>();
}
double number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
const json& list(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}
// A list of strings; an item of another type reads as its JSON text (the byte-for-byte check
// then keeps the original).
std::vector<std::string> texts(const json& j, const char* key) {
  std::vector<std::string> out;
  for (const auto& item : list(j, key)) out.push_back(item.is_string() ? item.get<std::string>() : item.dump());
  return out;
}

std::optional<Digest> digest_of(std::string_view hex_text) { return digest_from_hex(hex_text); }

// The bytes of lower-case hex text; "" when it is not that (the byte-for-byte check then keeps
// the row's text).
std::string bytes_of_hex(const std::string& hex_text) {
  if (hex_text.size() % 2 != 0) return {};
  std::string out(hex_text.size() / 2, '\0');
  for (std::size_t i = 0; i < hex_text.size(); ++i) {
    const char c = hex_text[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return {};
    out[i / 2] = static_cast<char>(static_cast<unsigned char>(out[i / 2]) << 4 | v);
  }
  return out;
}

template <typename Enum, std::size_t Last, typename Name>
Enum enum_named(const std::string& name, Name name_of) {
  for (std::size_t i = 0; i <= Last; ++i) {
    if (name_of(static_cast<Enum>(i)) == name) return static_cast<Enum>(i);
  }
  return static_cast<Enum>(0);
}

std::vector<Removal> removals(const json& d) {
  std::vector<Removal> out;
  for (const auto& r : list(d, "removed")) out.push_back({text(r, "pointer"), text(r, "rule")});
  return out;
}

Record record_of(Kind kind, const json& d) {
  switch (kind) {
    case Kind::kStarted: {
      Started s{text(d, "config_digest"),           text(d, "contracts_digest"),
                text(d, "signing_key"),             integer<std::uint32_t>(d, "partners"),
                integer<std::uint32_t>(d, "contracts"), flag(d, "config_changed"),
                flag(d, "contracts_changed"),       optional_text(d, "previous_config_digest"),
                optional_text(d, "previous_contracts_digest"), text(d, "clock_source"),
                flag(d, "clock_synced"), ClockSync::kUnknown, "", -1};
      // The clock as one object (the broker's form since it read the kernel's clock state).
      if (auto c = d.find("clock"); c != d.end() && c->is_object()) {
        s.clock_source = text(*c, "source");
        s.clock_sync = enum_named<ClockSync, kLastClockSync>(text(*c, "sync"), [](ClockSync k) { return to_string(k); });
        s.clock_synced = s.clock_sync == ClockSync::kSynchronized;
        s.clock_basis = text(*c, "basis");
        s.clock_error_us = c->contains("estimated_error_us") ? integer<std::int64_t>(*c, "estimated_error_us") : -1;
      }
      return s;
    }
    case Kind::kReceived: return Received{integer<std::uint64_t>(d, "bytes")};
    case Kind::kRejected: {
      Rejected r;
      r.code = enum_named<ErrorCode, static_cast<std::size_t>(contracts::kLastErrorCode)>(
          text(d, "code"), [](ErrorCode c) { return contracts::to_string(c); });
      r.detail = text(d, "detail");
      for (const auto& e : list(d, "errors")) r.errors.push_back({text(e, "pointer"), text(e, "code"), text(e, "reason")});
      return r;
    }
    case Kind::kAccepted: {
      Accepted a;
      for (const auto& r : list(d, "recipients")) a.recipients.push_back(r.is_string() ? r.get<std::string>() : r.dump());
      a.correlation_id = text(d, "correlation_id");
      a.causation_id = text(d, "causation_id");
      a.supersedes = text(d, "supersedes");
      a.occurred_at = integer<Millis>(d, "occurred_at");
      a.recorded_at = integer<Millis>(d, "recorded_at");
      a.origin = text(d, "origin");
      for (const auto& k : list(d, "skipped")) a.skipped.push_back({text(k, "partner"), text(k, "reason")});
      for (const auto& v : list(d, "evidence")) {
        if (auto sealed = v.find("sealed"); v.is_object() && sealed != v.end()) {
          a.evidence.push_back({text(v, "pointer"), bytes_of_hex(text(v, "sealed")), true});
        } else if (auto value = v.find("value"); v.is_object() && value != v.end()) {
          a.evidence.push_back({text(v, "pointer"), value->dump(-1, ' ', false, json::error_handler_t::replace), false});
        } else {
          a.evidence.push_back({text(v, "pointer"), "null", false});
        }
      }
      a.assurance = enum_named<Assurance, kLastAssurance>(text(d, "assurance"), [](Assurance k) { return to_string(k); });
      a.retention = text(d, "retention");
      a.legal_basis = text(d, "legal_basis");
      return a;
    }
    case Kind::kDuplicate:
      return Duplicate{digest_of(text(d, "first_payload_digest")).value_or(Digest{}), flag(d, "same_payload")};
    case Kind::kRouted: return Routed{text(d, "basis")};
    case Kind::kDelivered: return Delivered{integer<std::uint32_t>(d, "attempt")};
    case Kind::kRedelivered: return Redelivered{integer<std::uint32_t>(d, "attempt")};
    case Kind::kAcknowledged: return Acknowledged{};
    case Kind::kNacked: return Nacked{text(d, "reason")};
    case Kind::kDeadLettered: return DeadLettered{integer<std::uint32_t>(d, "attempt"), text(d, "reason")};
    case Kind::kRedacted: return Redacted{removals(d), text(d, "basis")};
    case Kind::kPolicyAllowed: return PolicyAllowed{removals(d), text(d, "basis")};
    case Kind::kNormViolated: {
      NormViolated n;
      n.norm = text(d, "norm");
      n.kind = enum_named<contracts::NormKind, static_cast<std::size_t>(contracts::NormKind::kFollowUpAt)>(text(d, "kind"), [](contracts::NormKind k) { return contracts::to_string(k); });
      n.due_at = integer<Millis>(d, "due_at");
      n.done_at = integer<Millis>(d, "done_at");
      n.by_ms = integer<Millis>(d, "by_ms");
      n.expected_contract = text(d, "expected_contract");
      n.explanation = text(d, "explanation");
      n.was_open = flag(d, "was_open");
      n.late_party = text(d, "late_party");
      n.key = text(d, "key");
      n.corrects = text(d, "corrects");
      return n;
    }
    case Kind::kAlert:
      return Alert{enum_named<AlertKind, kLastAlertKind>(text(d, "kind"), [](AlertKind k) { return to_string(k); }),
                   text(d, "subject"), number(d, "value"), number(d, "threshold"), texts(d, "cases")};
    case Kind::kResent: {
      Resent r;
      r.new_message_id = text(d, "new_message_id");
      r.target = text(d, "target");
      r.status = enum_named<contracts::ReceiptStatus, 2>(text(d, "status"),
                                                         [](contracts::ReceiptStatus s) { return contracts::to_string(s); });
      r.target_log_seq = integer<std::uint64_t>(d, "target_log_seq");
      r.user = text(d, "user");
      r.via = text(d, "via");
      r.purpose = text(d, "purpose");
      return r;
    }
    case Kind::kLogRead: {
      LogRead l{text(d, "command"), text(d, "user"), text(d, "purpose"), text(d, "role"), text(d, "via")};
      if (auto it = d.find("certificate"); it != d.end() && it->is_object()) {
        l.certificate_sha256 = text(*it, "sha256");
        l.certificate_subject = text(*it, "subject");
      }
      return l;
    }
    case Kind::kUndelivered: return Undelivered{integer<std::uint32_t>(d, "attempt"), text(d, "reason")};
    // Kinds newer than schema 4: no broker wrote them as rows; read from the detail as rendered.
    case Kind::kShredded: {
      Shredded s;
      s.messages = integer<std::uint32_t>(d, "messages");
      if (auto it = d.find("rules"); it != d.end() && it->is_array()) {
        for (const auto& r : *it) {
          s.rules.push_back({text(r, "contract"), integer<std::uint32_t>(r, "version"), text(r, "retention"),
                             text(r, "legal_basis")});
        }
      }
      return s;
    }
    case Kind::kHold: return Hold{text(d, "reason"), text(d, "user")};
    case Kind::kRelease: return Release{text(d, "reason"), text(d, "user")};
    case Kind::kProcessed:
      return Processed{text(d, "outcome") == "refused" ? contracts::ProcessedOutcome::kRefused
                                                        : contracts::ProcessedOutcome::kDone,
                       text(d, "reason"), integer<Millis>(d, "acknowledged_at")};
  }
  return Routed{};  // not reached: every kind is handled above
}

}  // namespace

Result<Event> from_legacy_row(const LegacyRow& row) {
  const auto kind = kind_from_name(row.event);
  if (!kind) return Error{ErrorCode::kMalformedEnvelope, "row event '" + row.event + "' is no event kind"};
  Event e;
  e.at = row.at;
  e.message_id = row.message_id;
  e.contract = row.contract;
  e.version = row.version;
  e.case_ref = row.case_ref;
  e.sender = row.sender;
  e.recipient = row.recipient;
  e.delivery_id = row.delivery_id;
  if (!row.payload_digest.empty()) {
    e.payload_digest = digest_of(row.payload_digest);
    if (!e.payload_digest) {
      return Error{ErrorCode::kMalformedEnvelope,
                   "row payload_digest '" + row.payload_digest + "' is not 64 lower-case hex characters"};
    }
  }
  json d = row.detail.empty() ? json::object() : json::parse(row.detail, nullptr, false);
  if (!d.is_object()) d = json::object();
  e.record = record_of(*kind, d);
  if (detail_json(e) != row.detail) e.legacy_detail = row.detail;
  return e;
}

LegacyRow to_legacy_row(const Event& e) {
  return LegacyRow{e.at,          std::string(to_string(e.kind())),
                   e.message_id,  e.contract,
                   e.version,     e.case_ref,
                   e.sender,      e.recipient,
                   e.delivery_id, e.payload_digest ? hex(*e.payload_digest) : std::string(),
                   detail_json(e)};
}

}  // namespace broker::events
