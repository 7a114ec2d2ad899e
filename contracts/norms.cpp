#include "contracts/norms.h"

#include "contracts/formats.h"
#include "contracts/iso_duration.h"
#include "contracts/time.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <set>

namespace contracts {
namespace {

using json = nlohmann::json;

constexpr std::array<std::pair<NormKind, std::string_view>, 7> kKindNames = {{
    {NormKind::kDeliveredBefore, "delivered_before"},
    {NormKind::kDeliveredWithin, "delivered_within"},
    {NormKind::kSubmittedWithin, "submitted_within"},
    {NormKind::kFollowUp, "follow_up"},
    {NormKind::kConfirmedWithin, "confirmed_within"},
    {NormKind::kTimeBefore, "time_before"},
    {NormKind::kFollowUpAt, "follow_up_at"},
}};

constexpr Millis kSecond = 1000;
constexpr Millis kMinute = 60 * kSecond;
constexpr Millis kHour = 60 * kMinute;
constexpr Millis kDay = 24 * kHour;

bool is_delivery(NormKind kind) { return kind == NormKind::kDeliveredBefore || kind == NormKind::kDeliveredWithin; }
bool is_follow_up(NormKind kind) {
  return kind == NormKind::kFollowUp || kind == NormKind::kConfirmedWithin || kind == NormKind::kFollowUpAt;
}

// The keys each kind takes besides id, kind, description and when.
std::vector<std::string_view> keys_for(NormKind kind) {
  switch (kind) {
    case NormKind::kDeliveredBefore: return {"field", "lead", "recipients", "acknowledged"};
    case NormKind::kDeliveredWithin: return {"within", "after", "recipients", "acknowledged"};
    case NormKind::kSubmittedWithin: return {"field", "within"};
    case NormKind::kFollowUp: return {"expects", "match", "before", "lead", "within", "after"};
    case NormKind::kConfirmedWithin: return {"expects", "match", "within", "after"};
    case NormKind::kTimeBefore: return {"field", "before", "lead", "reference", "match"};
    case NormKind::kFollowUpAt: return {"expects", "match", "at", "before", "lead", "window", "grace"};
  }
  return {};
}

bool is_pointer(const std::string& text) { return !text.empty() && text[0] == '/'; }

// The payload value at `pointer`; nullptr when absent or the pointer is malformed.
const json* value_at(const json& payload, const std::string& pointer) {
  try {
    const json::json_pointer p(pointer);
    return payload.contains(p) ? &payload.at(p) : nullptr;
  } catch (const json::exception&) {
    return nullptr;
  }
}

// The schema node `pointer` names in the payload, following properties, items ("*" or an index)
// and local $refs. nullptr when the schema does not declare it.
const json* schema_node(const json& root, std::string_view pointer) {
  auto resolve = [&](const json* node) {
    for (int hops = 0; hops < 16 && node && node->is_object(); ++hops) {
      auto ref = node->find("$ref");
      if (ref == node->end() || !ref->is_string()) break;
      const std::string text = ref->get<std::string>();
      if (text.rfind("#", 0) != 0) return static_cast<const json*>(nullptr);
      try {
        const json::json_pointer target(text.substr(1));
        node = root.contains(target) ? &root.at(target) : nullptr;
      } catch (const json::exception&) {
        return static_cast<const json*>(nullptr);
      }
    }
    return node;
  };
  const json* node = resolve(&root);
  if (pointer.empty()) return node;
  json::json_pointer parsed;
  try {
    parsed = json::json_pointer(std::string(pointer));
  } catch (const json::exception&) {
    return nullptr;
  }
  // Walk the tokens front to back.
  std::vector<std::string> tokens;
  for (json::json_pointer p = parsed; !p.empty(); p.pop_back()) tokens.push_back(p.back());
  std::reverse(tokens.begin(), tokens.end());
  for (const auto& token : tokens) {
    if (!node || !node->is_object()) return nullptr;
    auto properties = node->find("properties");
    if (properties != node->end() && properties->is_object() && properties->contains(token)) {
      node = resolve(&(*properties)[token]);
      continue;
    }
    auto items = node->find("items");
    const bool index = token == "*" || (!token.empty() && std::all_of(token.begin(), token.end(),
                                                                      [](char c) { return c >= '0' && c <= '9'; }));
    if (index && items != node->end() && items->is_object()) {
      node = resolve(&*items);
      continue;
    }
    return nullptr;
  }
  return node;
}

std::string at_or_acceptance(const Norm& norm) { return norm.after.empty() ? "acceptance" : norm.after; }

// A payload time that may be a date-time or, for deadlines, a full date (to its end).
std::optional<Millis> deadline_in(const json& payload, const std::string& pointer) {
  const json* value = value_at(payload, pointer);
  if (!value || !value->is_string()) return std::nullopt;
  return parse_deadline(value->get<std::string>());
}

std::string rule_before(const Norm& norm, const std::string& where) {
  return (norm.lead > 0 ? format_duration(norm.lead) + " before " : "at or before ") + where;
}

template <class TimeAt>
void evaluate_time_before(const Norm& norm, const MessageTimes& message, const json& payload, NormReport& report,
                          TimeAt& time_at) {
  const auto event = time_at(norm, norm.field);
  if (!event) return;
  std::optional<Millis> deadline;
  std::string where = norm.before;
  if (norm.expects.empty()) {
    if (!value_at(payload, norm.before)) return;
    deadline = deadline_in(payload, norm.before);
  } else {
    // The latest message of the reference contract for the case: a correction replaces the first.
    const FollowUpSeen* latest = nullptr;
    for (const FollowUpSeen& f : message.follow_ups) {
      if (f.contract != norm.expects.front() || f.payload.empty()) continue;
      if (!latest || f.accepted_at >= latest->accepted_at) latest = &f;
    }
    if (!latest) {
      report.waiting = true;
      return;
    }
    where = norm.before + " of " + latest->contract + " " + latest->message_id;
    const json reference = json::parse(latest->payload, nullptr, false);
    if (reference.is_discarded() || !value_at(reference, norm.before)) return;
    deadline = deadline_in(reference, norm.before);
  }
  if (!deadline) {
    report.problems.push_back("norm '" + norm.id + "': " + where + " is not a date-time or date");
    return;
  }
  const Millis due = *deadline - norm.lead;
  if (*event <= due) return;
  NormViolation v;
  v.norm_id = norm.id;
  v.kind = norm.kind;
  v.due_at = due;
  v.done_at = *event;
  v.late_by = *event - due;
  v.explanation = norm.field + " " + format_rfc3339(*event) + " is " + format_duration(v.late_by) +
                  " after its deadline (due " + rule_before(norm, where) + ")";
  report.violations.push_back(std::move(v));
}

template <class TimeAt>
void evaluate_follow_up_at(const Norm& norm, const MessageTimes& message, const json& payload, Millis now,
                           NormReport& report, TimeAt& /*time_at*/) {
  if (!value_at(payload, norm.field)) return;
  const auto reference = deadline_in(payload, norm.field);
  if (!reference) {
    report.problems.push_back("norm '" + norm.id + "': " + norm.field + " is not a date-time or date");
    return;
  }
  const Millis due = *reference - norm.lead;
  // Without a window every time counts (the earliest possible time is the lowest Millis).
  const Millis earliest = norm.window > 0 ? *reference - norm.window : std::numeric_limits<Millis>::min();
  std::string rule = rule_before(norm, norm.field);
  if (norm.window > 0) rule += ", not more than " + format_duration(norm.window) + " before it";
  for (const std::string& expected : norm.expects) {
    std::optional<Millis> first;
    std::string first_sender;
    for (const FollowUpSeen& f : message.follow_ups) {
      if (f.contract != expected || f.payload.empty()) continue;
      const json other = json::parse(f.payload, nullptr, false);
      if (other.is_discarded()) continue;
      const json* value = value_at(other, norm.at);
      if (!value || !value->is_string()) continue;
      const auto t = parse_date_time(value->get<std::string>());
      if (!t || *t < earliest) continue;
      if (!first || *t < *first) {
        first = *t;
        first_sender = f.sender;
      }
    }
    if (first && *first <= due) {
      report.met_in_time.push_back({norm.id, expected, first_sender, due, *first});
      continue;
    }
    if (!first && now <= due + norm.grace) {
      report.pending.push_back({norm.id, "", expected, due + norm.grace});
      continue;
    }
    NormViolation v;
    v.norm_id = norm.id;
    v.kind = norm.kind;
    v.expected_contract = expected;
    v.due_at = due;
    v.done_at = first.value_or(0);
    v.late_by = (first ? *first : now) - due;
    v.late_party = first_sender;
    const std::string what = expected + " " + norm.at + " for " + norm.match + " (due " + rule + ")";
    v.explanation = first ? what + " " + format_duration(v.late_by) + " late"
                          : what + " is " + format_duration(v.late_by) + " overdue";
    report.violations.push_back(std::move(v));
  }
}

}  // namespace

std::string_view to_string(NormKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

bool links_messages(const Norm& norm) { return !norm.expects.empty() && !norm.match.empty(); }

bool reads_linked_payloads(const Norm& norm) {
  return links_messages(norm) && (norm.kind == NormKind::kTimeBefore || norm.kind == NormKind::kFollowUpAt);
}

std::optional<Millis> parse_deadline(std::string_view text) {
  if (auto t = parse_date_time(text)) return t;
  if (text.size() != 10 || !is_valid_date(text)) return std::nullopt;
  // Midnight at the start of the date, then one day on: the whole date counts as in time.
  auto start = parse_date_time(std::string(text) + "T00:00:00Z");
  if (!start) return std::nullopt;
  return *start + kDay;
}

std::optional<Millis> parse_duration(std::string_view text) {
  auto parts = scan_iso_duration(text);
  if (!parts) return std::nullopt;
  Millis total = 0;
  for (const auto& [unit, value] : *parts) {
    switch (unit) {
      case DurationUnit::kYears:
      case DurationUnit::kMonths: return std::nullopt;  // no fixed length
      case DurationUnit::kWeeks: total += value * 7 * kDay; break;
      case DurationUnit::kDays: total += value * kDay; break;
      case DurationUnit::kHours: total += value * kHour; break;
      case DurationUnit::kMinutes: total += value * kMinute; break;
      case DurationUnit::kSeconds: total += value * kSecond; break;
    }
  }
  return total;
}

std::optional<Millis> parse_date_time(std::string_view s) {
  auto t = parse_rfc3339(s);
  return t ? std::optional<Millis>(*t) : std::nullopt;
}

std::string format_duration(Millis ms) {
  if (ms < 0) return "-" + format_duration(-ms);
  if (ms < kSecond) return ms == 0 ? "0s" : std::to_string(ms) + "ms";
  std::string out;
  const Millis parts[] = {kDay, kHour, kMinute, kSecond};
  const char* units[] = {"d", "h", "m", "s"};
  for (int i = 0; i < 4; ++i) {
    const Millis n = ms / parts[i];
    ms %= parts[i];
    if (n > 0) out += (out.empty() ? "" : " ") + std::to_string(n) + units[i];
  }
  return out;
}

ParsedNorms parse_norms(std::string_view norms_json) {
  ParsedNorms out;
  json list;
  try {
    list = json::parse(norms_json);
  } catch (const json::exception&) {
    out.problems.push_back("'norms' is not JSON");
    return out;
  }
  if (!list.is_array()) {
    out.problems.push_back("'norms' must be a list of norms");
    return out;
  }
  std::set<std::string> ids;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    std::string name = "norm " + std::to_string(i + 1);
    if (!item.is_object()) {
      out.problems.push_back(name + " must be an object");
      continue;
    }
    Norm norm;
    const std::size_t before = out.problems.size();
    auto problem = [&](const std::string& text) { out.problems.push_back(name + ": " + text); };

    auto id = item.find("id");
    if (id != item.end() && id->is_string() && !id->get<std::string>().empty()) {
      norm.id = id->get<std::string>();
      name = "norm '" + norm.id + "'";
      const bool plain = std::all_of(norm.id.begin(), norm.id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
      if (!plain) problem("'id' must use only a-z, 0-9 and '-'");
      if (!ids.insert(norm.id).second) problem("'id' is used twice");
    } else {
      problem("needs an 'id' (a non-empty string)");
    }

    auto kind = item.find("kind");
    bool kind_known = false;
    if (kind != item.end() && kind->is_string()) {
      for (const auto& [k, kind_name] : kKindNames) {
        if (kind_name == kind->get<std::string>()) {
          norm.kind = k;
          kind_known = true;
        }
      }
    }
    if (!kind_known) {
      problem(
          "'kind' must be one of delivered_before, delivered_within, submitted_within, "
          "follow_up, confirmed_within, time_before, follow_up_at");
      continue;
    }

    const auto allowed = keys_for(norm.kind);
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string& key = it.key();
      if (key == "id" || key == "kind" || key == "description" || key == "when") continue;
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        problem("'" + key + "' is not a key of a " + std::string(to_string(norm.kind)) + " norm");
      }
    }

    auto text_of = [&](const char* key, std::string& target, bool pointer) {
      auto it = item.find(key);
      if (it == item.end()) return false;
      if (!it->is_string() || (pointer && !is_pointer(it->get<std::string>()))) {
        problem(std::string("'") + key + "' must be " +
                (pointer ? "a JSON pointer into the payload, like \"/std\"" : "a string"));
        return false;
      }
      target = it->get<std::string>();
      return true;
    };
    auto duration_of = [&](const char* key, Millis& target) {
      auto it = item.find(key);
      if (it == item.end()) return false;
      const auto parsed = it->is_string() ? parse_duration(it->get<std::string>()) : std::nullopt;
      if (!parsed) {
        problem(std::string("'") + key +
                "' must be an ISO 8601 duration without years or months, like \"PT48H\" or "
                "\"P14D\"");
        return false;
      }
      target = *parsed;
      return true;
    };

    text_of("description", norm.description, false);
    const bool has_after = text_of("after", norm.after, true);
    const bool has_lead = duration_of("lead", norm.lead);
    const bool has_within = duration_of("within", norm.within);
    (void)has_after;

    switch (norm.kind) {
      case NormKind::kDeliveredBefore:
        if (!text_of("field", norm.field, true)) problem("needs 'field', the deadline's pointer");
        if (!has_lead) problem("needs 'lead', how long before 'field' it must be delivered");
        break;
      case NormKind::kDeliveredWithin:
      case NormKind::kConfirmedWithin:
        if (!has_within) problem("needs 'within'");
        break;
      case NormKind::kSubmittedWithin:
        if (!text_of("field", norm.field, true)) problem("needs 'field', the event's pointer");
        if (!has_within) problem("needs 'within', the longest time from the event to acceptance");
        break;
      case NormKind::kTimeBefore: {
        if (!text_of("field", norm.field, true)) problem("needs 'field', the pointer to the time that must come first");
        if (!text_of("before", norm.before, true)) problem("needs 'before', the pointer to the deadline");
        std::string reference;
        const bool has_reference = text_of("reference", reference, false);
        if (has_reference && reference.empty()) problem("'reference' must name a contract");
        if (has_reference && !reference.empty()) norm.expects.push_back(reference);
        if (has_reference != item.contains("match")) {
          problem(
              "'reference' and 'match' go together: the contract holding 'before' and the pointer "
              "both messages carry");
        } else if (has_reference) {
          text_of("match", norm.match, true);
        }
        break;
      }
      case NormKind::kFollowUpAt: {
        if (!text_of("before", norm.field, true))
          problem("needs 'before', the pointer to the deadline's reference time");
        if (!text_of("at", norm.at, true)) problem("needs 'at', the pointer to the time in the follow-up's payload");
        if (auto w = item.find("window");
            w != item.end() && duration_of("window", norm.window) && norm.window <= norm.lead) {
          problem("'window' must be longer than 'lead', or no time could meet the norm");
        }
        if (item.contains("grace")) duration_of("grace", norm.grace);
        break;
      }
      case NormKind::kFollowUp: {
        const bool has_before = text_of("before", norm.field, true);
        if (has_before == has_within) {
          problem("needs either 'before' (with 'lead') or 'within', not both");
        }
        if (has_lead && !has_before) problem("'lead' only goes with 'before'");
        if (!item.contains("after") || has_within) break;
        problem("'after' only goes with 'within'");
        break;
      }
    }

    if (is_delivery(norm.kind)) {
      auto r = item.find("recipients");
      if (r == item.end() || *r == "all") {
        // every recipient
      } else if (r->is_array() && !r->empty() &&
                 std::all_of(r->begin(), r->end(), [](const json& v) { return v.is_string(); })) {
        for (const auto& v : *r) norm.recipients.push_back(v.get<std::string>());
      } else {
        problem("'recipients' must be \"all\" or a non-empty list of partner ids");
      }
      if (auto a = item.find("acknowledged"); a != item.end()) {
        if (a->is_boolean()) {
          norm.acknowledged = a->get<bool>();
        } else {
          problem("'acknowledged' must be true or false");
        }
      }
    }
    if (is_follow_up(norm.kind)) {
      auto e = item.find("expects");
      if (e != item.end() && e->is_array() && !e->empty() &&
          std::all_of(e->begin(), e->end(), [](const json& v) { return v.is_string(); })) {
        for (const auto& v : *e) norm.expects.push_back(v.get<std::string>());
      } else {
        problem("'expects' must be a non-empty list of contract names");
      }
      if (!text_of("match", norm.match, true)) {
        problem("needs 'match', the pointer that links the follow-up to this message");
      }
    }
    if (auto w = item.find("when"); w != item.end()) {
      if (!w->is_object() || w->empty()) {
        problem("'when' must be an object of payload pointers and the values they must hold");
      } else {
        for (auto it = w->begin(); it != w->end(); ++it) {
          if (!is_pointer(it.key()) || it.value().is_structured()) {
            problem("'when' must map JSON pointers to plain values");
            break;
          }
          norm.when.emplace_back(it.key(), it.value().dump());
        }
      }
    }
    if (out.problems.size() == before) out.norms.push_back(std::move(norm));
  }
  return out;
}

bool schema_declares(std::string_view schema_json, std::string_view pointer, std::string* format) {
  json root;
  try {
    root = json::parse(schema_json);
  } catch (const json::exception&) {
    return false;
  }
  const json* node = schema_node(root, pointer);
  if (node && format) *format = node->is_object() ? node->value("format", "") : "";
  return node != nullptr;
}

std::vector<std::string> lint_norms(const std::vector<Norm>& norms, std::string_view schema_json,
                                    const std::vector<std::string>& consumers) {
  std::vector<std::string> problems;
  for (const Norm& norm : norms) {
    const std::string name = "norm '" + norm.id + "'";
    // A deadline of the payload-time kinds may be a whole date (it lasts to the day's end).
    auto need_time = [&](const std::string& pointer, const char* key, bool date_ok = false) {
      if (pointer.empty()) return;
      std::string format;
      if (!schema_declares(schema_json, pointer, &format)) {
        problems.push_back(name + ": '" + key + "' " + pointer + " is not in the schema");
      } else if (format != "date-time" && !(date_ok && format == "date")) {
        problems.push_back(name + ": '" + key + "' " + pointer + " must have format date-time" +
                           (date_ok ? " or date" : "") + " in the schema");
      }
    };
    const bool field_is_before = norm.kind == NormKind::kFollowUp || norm.kind == NormKind::kFollowUpAt;
    need_time(norm.field, field_is_before ? "before" : "field", norm.kind == NormKind::kFollowUpAt);
    // time_before's deadline with a reference is in the other contract (lint_linked_times).
    if (norm.kind == NormKind::kTimeBefore && norm.expects.empty()) need_time(norm.before, "before", true);
    need_time(norm.after, "after");
    if (!norm.match.empty() && !schema_declares(schema_json, norm.match)) {
      problems.push_back(name + ": 'match' " + norm.match + " is not in the schema");
    }
    for (const auto& [pointer, value] : norm.when) {
      if (!schema_declares(schema_json, pointer)) {
        problems.push_back(name + ": 'when' " + pointer + " is not in the schema");
      }
    }
    for (const auto& recipient : norm.recipients) {
      if (std::find(consumers.begin(), consumers.end(), recipient) == consumers.end()) {
        problems.push_back(name + ": recipient '" + recipient + "' is not a consumer");
      }
    }
  }
  return problems;
}

std::vector<std::string> lint_linked_times(const Norm& norm, std::string_view linked_contract,
                                           std::string_view linked_schema_json) {
  std::vector<std::string> problems;
  const bool time_before = norm.kind == NormKind::kTimeBefore;
  const std::string& pointer = time_before ? norm.before : norm.at;
  if (pointer.empty() || !reads_linked_payloads(norm)) return problems;
  const char* key = time_before ? "before" : "at";
  std::string format;
  const std::string where = "norm '" + norm.id + "': '" + key + "' " + pointer + " ";
  if (!schema_declares(linked_schema_json, pointer, &format)) {
    problems.push_back(where + "is not in " + std::string(linked_contract));
  } else if (format != "date-time" && !(time_before && format == "date")) {
    problems.push_back(where + "must have format date-time" + (time_before ? " or date" : "") + " in " +
                       std::string(linked_contract));
  }
  return problems;
}

NormViolation MetInTime::as_violation(NormKind kind) const {
  NormViolation v;
  v.norm_id = norm_id;
  v.kind = kind;
  v.expected_contract = expected_contract;
  v.late_party = late_party;
  v.due_at = due_at;
  v.done_at = done_at;
  v.late_by = 0;
  v.explanation = expected_contract + " was met in time (at " + format_rfc3339(done_at) +
                  ") but reported after the grace, when the obligation had been recorded open";
  return v;
}

std::string NormViolation::key(std::string_view message_id) const {
  return std::string(message_id) + "/" + norm_id + "/" + (recipient.empty() ? expected_contract : recipient);
}

std::optional<Millis> NormReport::next_due() const {
  std::optional<Millis> out;
  for (const auto& p : pending) {
    if (!out || p.due_at < *out) out = p.due_at;
  }
  return out;
}

std::optional<std::string> norm_case_key(const Norm& norm, std::string_view payload) {
  if (norm.match.empty()) return std::nullopt;
  try {
    const json parsed = json::parse(payload);
    const json* value = value_at(parsed, norm.match);
    if (!value) return std::nullopt;
    return value->dump();
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

NormReport evaluate_norms(const std::vector<Norm>& norms, const MessageTimes& message, Millis now) {
  NormReport report;
  json payload;
  try {
    payload = json::parse(message.payload);
  } catch (const json::exception&) {
    report.problems.push_back("payload is not JSON");
    return report;
  }

  // One obligation: done at `done` (0 = not yet), due at `due`.
  auto judge = [&](const Norm& norm, const std::string& recipient, const std::string& expected, Millis due, Millis done,
                   const std::string& what) {
    if (done != 0 && done <= due) return;
    if (done == 0 && now <= due) {
      report.pending.push_back({norm.id, recipient, expected, due});
      return;
    }
    NormViolation v;
    v.norm_id = norm.id;
    v.kind = norm.kind;
    v.recipient = recipient;
    v.expected_contract = expected;
    v.due_at = due;
    v.done_at = done;
    v.late_by = (done != 0 ? done : now) - due;
    v.explanation = done != 0 ? what + " " + format_duration(v.late_by) + " late"
                              : what + " is " + format_duration(v.late_by) + " overdue";
    report.violations.push_back(std::move(v));
  };

  // The time at a payload pointer; nullopt (and a problem unless absent) when unusable.
  auto time_at = [&](const Norm& norm, const std::string& pointer) -> std::optional<Millis> {
    const json* value = value_at(payload, pointer);
    if (!value) return std::nullopt;
    auto t = value->is_string() ? parse_date_time(value->get<std::string>()) : std::nullopt;
    if (!t) report.problems.push_back("norm '" + norm.id + "': " + pointer + " is not a date-time");
    return t;
  };

  for (const Norm& norm : norms) {
    const bool applies = std::all_of(norm.when.begin(), norm.when.end(), [&](const auto& cond) {
      const json* value = value_at(payload, cond.first);
      return value && value->dump() == cond.second;
    });
    if (!applies) continue;

    if (norm.kind == NormKind::kTimeBefore) {
      evaluate_time_before(norm, message, payload, report, time_at);
      continue;
    }
    if (norm.kind == NormKind::kFollowUpAt) {
      evaluate_follow_up_at(norm, message, payload, now, report, time_at);
      continue;
    }

    // The deadline: `field` - lead, or anchor + within.
    std::optional<Millis> due;
    if (norm.kind == NormKind::kDeliveredBefore || (norm.kind == NormKind::kFollowUp && !norm.field.empty())) {
      if (auto t = time_at(norm, norm.field)) due = *t - norm.lead;
    } else if (norm.kind == NormKind::kSubmittedWithin) {
      if (auto t = time_at(norm, norm.field)) due = *t + norm.within;
    } else if (norm.after.empty()) {
      if (message.accepted_at != 0) due = message.accepted_at + norm.within;
    } else if (auto t = time_at(norm, norm.after)) {
      due = *t + norm.within;
    }
    if (!due) continue;

    if (is_delivery(norm.kind)) {
      const std::string verb = norm.acknowledged ? "acknowledged by " : "delivered to ";
      for (const RecipientTimes& r : message.recipients) {
        if (!norm.recipients.empty() &&
            std::find(norm.recipients.begin(), norm.recipients.end(), r.partner) == norm.recipients.end()) {
          continue;
        }
        const Millis done = norm.acknowledged ? r.acked_at : r.delivered_at;
        const std::string rule = norm.kind == NormKind::kDeliveredBefore
                                     ? format_duration(norm.lead) + " before " + norm.field
                                     : "within " + format_duration(norm.within) + " of " + at_or_acceptance(norm);
        judge(norm, r.partner, "", *due, done, verb + r.partner + " (due " + rule + ")");
        if (!report.violations.empty() && report.violations.back().recipient == r.partner &&
            report.violations.back().norm_id == norm.id) {
          report.violations.back().late_party = r.partner;
        }
      }
    } else if (norm.kind == NormKind::kSubmittedWithin) {
      if (message.accepted_at == 0) continue;
      judge(norm, "", "", *due, message.accepted_at,
            "accepted by the broker (due within " + format_duration(norm.within) + " of " + norm.field + ")");
    } else {
      for (const std::string& expected : norm.expects) {
        Millis first = 0;
        std::string first_sender;
        for (const FollowUpSeen& f : message.follow_ups) {
          if (f.contract == expected && f.accepted_at != 0 && (first == 0 || f.accepted_at < first)) {
            first = f.accepted_at;
            first_sender = f.sender;
          }
        }
        const std::size_t before = report.violations.size();
        const std::string rule = norm.field.empty()
                                     ? "within " + format_duration(norm.within) + " of " + at_or_acceptance(norm)
                                     : format_duration(norm.lead) + " before " + norm.field;
        judge(norm, "", expected, *due, first, "follow-up " + expected + " for " + norm.match + " (due " + rule + ")");
        if (report.violations.size() > before && first != 0) {
          report.violations.back().late_party = first_sender;
        }
      }
    }
  }
  return report;
}

}  // namespace contracts
