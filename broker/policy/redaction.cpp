#include "broker/policy/redaction.h"
#include "contracts/json_pointer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <utility>

namespace broker::policy {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using Json = nlohmann::json;

constexpr int kMaxSchemaDepth = 64;  // bounds $ref cycles and absurd nesting
// Bounds the whole walk: a recursive $ref with two branches (two properties, or an allOf of two
// references back) would otherwise take 2^depth steps (fuzzing finding 4, docs/fuzzing.md).
constexpr std::size_t kMaxSchemaSteps = 20000;


std::vector<std::string_view> segments(std::string_view pointer) {
  std::vector<std::string_view> out;
  if (pointer.empty()) return out;
  std::size_t start = 1;  // skip the leading '/'
  while (true) {
    auto slash = pointer.find('/', start);
    out.push_back(pointer.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

struct SchemaWalker {
  const Json& root;
  std::vector<SensitiveField> found;
  // Each schema location is walked once per pattern (again only when reached at a smaller depth,
  // which explores more): an allOf of two $refs to the same place no longer doubles the work.
  std::map<std::pair<const Json*, std::string>, int> walked{};
  std::size_t steps = 0;
  bool exhausted = false;

  void walk(const Json& node, const std::string& pattern, int depth) {
    if (!node.is_object() || depth > kMaxSchemaDepth || exhausted) return;
    if (++steps > kMaxSchemaSteps) {
      exhausted = true;
      return;
    }
    auto [seen, first] = walked.try_emplace({&node, pattern}, depth);
    if (!first) {
      if (seen->second <= depth) return;
      seen->second = depth;
    }
    if (auto it = node.find("x-sensitivity"); it != node.end() && it->is_string()) {
      found.push_back({pattern, it->get<std::string>()});
    }
    if (auto it = node.find("$ref"); it != node.end() && it->is_string()) {
      const std::string& ref = it->get_ref<const std::string&>();
      if (ref.rfind("#/", 0) == 0) {
        try {
          walk(root.at(Json::json_pointer(ref.substr(1))), pattern, depth + 1);
        } catch (const Json::exception&) {
          // an unresolvable $ref is the validator's problem, not a sensitive field
        }
      }
    }
    if (auto it = node.find("properties"); it != node.end() && it->is_object()) {
      for (const auto& [key, child] : it->items()) walk(child, pattern + "/" + contracts::escape_pointer_token(key), depth + 1);
    }
    if (auto it = node.find("additionalProperties"); it != node.end()) walk(*it, pattern + "/*", depth + 1);
    if (auto it = node.find("items"); it != node.end()) {
      if (it->is_array()) {
        for (std::size_t i = 0; i < it->size(); ++i) walk((*it)[i], pattern + "/" + std::to_string(i), depth + 1);
      } else {
        walk(*it, pattern + "/*", depth + 1);
      }
    }
    for (const char* combinator : {"allOf", "anyOf", "oneOf"}) {
      if (auto it = node.find(combinator); it != node.end() && it->is_array()) {
        for (const auto& child : *it) walk(child, pattern, depth + 1);
      }
    }
    for (const char* branch : {"then", "else"}) {
      if (auto it = node.find(branch); it != node.end()) walk(*it, pattern, depth + 1);
    }
  }
};

// Every concrete pointer in `doc` that matches `pattern`.
void find_matches(const Json& node, const std::vector<std::string_view>& pattern, std::size_t at,
                  const std::string& pointer, std::vector<std::string>& out) {
  if (at == pattern.size()) {
    out.push_back(pointer);
    return;
  }
  std::string_view seg = pattern[at];
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      if (seg == "*" || seg == contracts::escape_pointer_token(key)) find_matches(child, pattern, at + 1, pointer + "/" + contracts::escape_pointer_token(key), out);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (seg == "*" || seg == std::to_string(i)) find_matches(node[i], pattern, at + 1, pointer + "/" + std::to_string(i), out);
    }
  }
}

// Removes one pointer from the document. Array elements are removed from the highest index down by
// the caller, so earlier removals never shift later ones.
void erase(Json& doc, const std::string& pointer) {
  Json::json_pointer ptr(pointer);
  Json& parent = doc.at(ptr.parent_pointer());
  const std::string& last = ptr.back();
  if (parent.is_object()) parent.erase(last);
  else if (parent.is_array()) parent.erase(static_cast<std::size_t>(std::stoul(last)));
}

// Numeric-aware descending order so "/a/10" is erased before "/a/9" and children before parents.
bool erase_before(const std::string& a, const std::string& b) {
  auto sa = segments(a), sb = segments(b);
  for (std::size_t i = 0; i < std::min(sa.size(), sb.size()); ++i) {
    if (sa[i] == sb[i]) continue;
    bool na = !sa[i].empty() && std::all_of(sa[i].begin(), sa[i].end(), ::isdigit);
    bool nb = !sb[i].empty() && std::all_of(sb[i].begin(), sb[i].end(), ::isdigit);
    if (na && nb && sa[i].size() != sb[i].size()) return sa[i].size() > sb[i].size();
    return sa[i] > sb[i];
  }
  return sa.size() > sb.size();
}

// Collects what a projection removes: every leaf or subtree not on a kept path.
void outside_projection(const Json& node, const std::string& pointer, const std::vector<std::string>& keep,
                        std::vector<std::string>& out) {
  for (const auto& pattern : keep) {
    if (pointer_matches(pattern, pointer)) return;  // kept wholesale
  }
  bool on_path = pointer.empty();
  for (const auto& pattern : keep) {
    auto ps = segments(pattern), cs = segments(pointer);
    if (cs.size() >= ps.size()) continue;
    bool prefix = true;
    for (std::size_t i = 0; i < cs.size() && prefix; ++i) prefix = ps[i] == "*" || ps[i] == cs[i];
    on_path = on_path || prefix;
  }
  if (!on_path) {
    out.push_back(pointer);
    return;
  }
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) outside_projection(child, pointer + "/" + contracts::escape_pointer_token(key), keep, out);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) outside_projection(node[i], pointer + "/" + std::to_string(i), keep, out);
  } else if (!pointer.empty()) {
    out.push_back(pointer);  // a scalar that is only a prefix of a kept path: not kept itself
  }
}

}  // namespace

bool pointer_matches(std::string_view pattern, std::string_view pointer) {
  auto ps = segments(pattern), cs = segments(pointer);
  if (ps.size() != cs.size()) return false;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (ps[i] != "*" && ps[i] != cs[i]) return false;
  }
  return true;
}

Result<std::vector<SensitiveField>> sensitive_fields(std::string_view schema_json) {
  Json schema = Json::parse(schema_json, nullptr, false);
  if (schema.is_discarded()) return Error{ErrorCode::kConfig, "schema is not JSON"};
  SchemaWalker walker{schema, {}};
  walker.walk(schema, "", 0);
  if (walker.exhausted) {
    return Error{ErrorCode::kConfig, "schema: finding its x-sensitivity fields takes more than " +
                                         std::to_string(kMaxSchemaSteps) +
                                         " steps (a recursive $ref with more than one branch?)"};
  }
  return std::move(walker.found);
}

namespace {

// Sorts removals and drops those equal to or inside another (a medical field inside a removed
// subtree is removed with it).
template <typename Removal>
std::vector<Removal> outermost(std::vector<Removal> removals) {
  std::sort(removals.begin(), removals.end());
  std::vector<Removal> kept;
  for (auto& r : removals) {
    if (!kept.empty() && (r.first == kept.back().first || r.first.rfind(kept.back().first + "/", 0) == 0)) continue;
    kept.push_back(std::move(r));
  }
  return kept;
}

// Drops removals nested inside another removal, then erases the rest deepest / highest index
// first (so earlier erasures do not shift later pointers). Returns what was erased, sorted.
std::vector<std::pair<std::string, std::string>> erase_removals(Json& doc,
                                                                std::vector<std::pair<std::string, std::string>> removals) {
  auto kept = outermost(std::move(removals));
  std::vector<std::string> order;
  for (const auto& r : kept) order.push_back(r.first);
  std::sort(order.begin(), order.end(), erase_before);
  for (const auto& p : order) erase(doc, p);
  return kept;
}

// find_matches over spans: the pointer and the value's index of every match.
void find_span_matches(const contracts::JsonSpans& spans, std::uint32_t at, const std::vector<std::string_view>& pattern,
                       std::size_t step, const std::string& pointer,
                       std::vector<std::pair<std::string, std::uint32_t>>& out) {
  if (step == pattern.size()) {
    out.emplace_back(pointer, at);
    return;
  }
  const std::string_view seg = pattern[step];
  const contracts::JsonValue& v = spans.at(at);
  const bool object = v.kind == contracts::JsonValue::Kind::kObject;
  if (!object && v.kind != contracts::JsonValue::Kind::kArray) return;
  std::uint32_t c = v.first_child;
  for (std::uint32_t i = 0; i < v.count; ++i, c = spans.at(c).next_sibling) {
    const std::string token = object ? contracts::escape_pointer_token(spans.raw_key(spans.at(c))) : std::to_string(i);
    if (seg == "*" || seg == token) find_span_matches(spans, c, pattern, step + 1, pointer + "/" + token, out);
  }
}

std::vector<std::string> medical_in(const Json& doc, const std::vector<SensitiveField>& sensitive) {
  std::vector<std::string> medical;
  for (const auto& field : sensitive) {
    if (field.sensitivity != "medical") continue;
    find_matches(doc, segments(field.pattern), 0, "", medical);
  }
  return medical;
}

}  // namespace

Result<PreparedPayload> prepare_payload(std::string_view payload, const std::vector<SensitiveField>& sensitive) {
  Json doc = Json::parse(payload, nullptr, false);
  if (doc.is_discarded()) return Error{ErrorCode::kInvalidPayload, "payload is not JSON"};
  return prepare_parsed_payload(std::move(doc), sensitive);
}

PreparedPayload prepare_parsed_payload(nlohmann::json document, const std::vector<SensitiveField>& sensitive) {
  PreparedPayload out;
  std::vector<std::pair<std::string, std::string>> removals;
  for (auto& p : medical_in(document, sensitive)) removals.emplace_back(std::move(p), "medical:no-consent");
  if (removals.empty()) return out;
  for (auto& r : erase_removals(document, std::move(removals))) out.medical.push_back(std::move(r.first));
  out.without_medical = document.dump(-1, ' ', false, Json::error_handler_t::replace);
  return out;
}

std::optional<PreparedPayload> prepare_from_spans(const contracts::JsonSpans& spans,
                                                  const std::vector<SensitiveField>& sensitive) {
  std::vector<std::pair<std::string, std::uint32_t>> matches;
  for (const auto& field : sensitive) {
    if (field.sensitivity == "medical") find_span_matches(spans, 0, segments(field.pattern), 0, "", matches);
  }
  PreparedPayload out;
  if (matches.empty()) return out;
  std::vector<std::uint32_t> skip;
  for (auto& [pointer, index] : outermost(std::move(matches))) {
    out.medical.push_back(std::move(pointer));
    skip.push_back(index);
  }
  std::sort(skip.begin(), skip.end());
  if (!contracts::write_canonical(spans, skip, out.without_medical)) return std::nullopt;
  return out;
}

Redaction redact_prepared(std::string_view payload, const PreparedPayload& prepared, const RecipientView& recipient) {
  Redaction out;
  if (prepared.medical.empty()) {
    out.payload = std::string(payload);
  } else if (recipient.is_care_provider) {
    out.basis = "role:care-provider";
    out.payload = std::string(payload);
  } else if (!recipient.consent_id.empty()) {
    out.basis = "consent:" + recipient.consent_id;
    out.payload = std::string(payload);
  } else {
    for (const auto& p : prepared.medical) out.removed.push_back({p, "medical:no-consent"});
    out.payload = prepared.without_medical;
  }
  return out;
}

Result<Redaction> redact(std::string_view payload, const std::vector<SensitiveField>& sensitive,
                         const RecipientView& recipient) {
  Json doc = Json::parse(payload, nullptr, false);
  if (doc.is_discarded()) return Error{ErrorCode::kInvalidPayload, "payload is not JSON"};

  Redaction out;
  std::vector<std::string> medical = medical_in(doc, sensitive);
  std::vector<std::pair<std::string, std::string>> removals;  // pointer, rule
  if (!medical.empty()) {
    if (recipient.is_care_provider) {
      out.basis = "role:care-provider";
    } else if (!recipient.consent_id.empty()) {
      out.basis = "consent:" + recipient.consent_id;
    } else {
      for (auto& p : medical) removals.emplace_back(std::move(p), "medical:no-consent");
    }
  }
  if (recipient.has_projection) {
    std::vector<std::string> outside;
    outside_projection(doc, "", recipient.projection, outside);
    for (auto& p : outside) {
      bool already = std::any_of(removals.begin(), removals.end(), [&](const auto& r) {
        return p == r.first || p.rfind(r.first + "/", 0) == 0;  // inside something already removed
      });
      if (!already) removals.emplace_back(std::move(p), "projection");
    }
  }
  for (auto& r : erase_removals(doc, std::move(removals))) out.removed.push_back({std::move(r.first), std::move(r.second)});
  out.payload = doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  return out;
}

}  // namespace broker::policy
