#include "contracts/compatibility.h"
#include "contracts/json_pointer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace contracts {
namespace {

using json = nlohmann::json;
using Kind = SchemaChange::Kind;

constexpr std::array<std::pair<CompatibilityMode, std::string_view>, 7> kModeNames = {{
    {CompatibilityMode::kBackward, "BACKWARD"},
    {CompatibilityMode::kForward, "FORWARD"},
    {CompatibilityMode::kFull, "FULL"},
    {CompatibilityMode::kBackwardTransitive, "BACKWARD_TRANSITIVE"},
    {CompatibilityMode::kForwardTransitive, "FORWARD_TRANSITIVE"},
    {CompatibilityMode::kFullTransitive, "FULL_TRANSITIVE"},
    {CompatibilityMode::kNone, "NONE"},
}};

// Keywords compare_schemas reasons about; everything else is compared as a whole.
constexpr std::string_view kUnderstood[] = {
    "type",         "enum",         "const",     "properties",       "required",
    "additionalProperties",         "items",     "pattern",          "format",
    "minimum",      "maximum",      "exclusiveMinimum",              "exclusiveMaximum",
    "minLength",    "maxLength",    "minItems",  "maxItems",         "uniqueItems",
    "x-sensitivity", "$ref",        "definitions", "$schema",        "$id",
    "title",        "description",  "default",   "examples",         "$comment"};

// Bounds: true when a larger value is stricter (a lower bound).
constexpr std::pair<std::string_view, bool> kBounds[] = {
    {"minimum", true},    {"exclusiveMinimum", true}, {"minLength", true}, {"minItems", true},
    {"maximum", false},   {"exclusiveMaximum", false}, {"maxLength", false}, {"maxItems", false}};

bool is_understood(std::string_view keyword) {
  return std::find(std::begin(kUnderstood), std::end(kUnderstood), keyword) != std::end(kUnderstood);
}

std::string quoted_list(const std::vector<json>& values) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ", ") + value.dump();
  return out;
}


std::string where(const std::string& pointer) {
  return pointer.empty() ? "the payload" : pointer;
}

class Comparer {
 public:
  Comparer(const json& old_root, const json& new_root) : old_root_(old_root), new_root_(new_root) {}

  std::vector<SchemaChange> run() {
    compare(old_root_, new_root_, "", 0);
    return std::move(changes_);
  }

 private:
  // Follows a local "#/a/b" $ref; the schema itself when it has none or the ref does not resolve
  // (a schema that compiled has none of those; then the $ref is compared as a keyword).
  static const json& resolve(const json& schema, const json& root) {
    const json* current = &schema;
    for (int hops = 0; hops < 16 && current->is_object(); ++hops) {
      auto ref = current->find("$ref");
      if (ref == current->end() || !ref->is_string()) break;
      const std::string text = ref->get<std::string>();
      if (text.rfind("#", 0) != 0) break;
      try {
        const json::json_pointer target(text.substr(1));
        if (!root.contains(target)) break;
        current = &root.at(target);
      } catch (const json::exception&) {
        break;
      }
    }
    return *current;
  }

  void add(Kind kind, const std::string& pointer, bool breaks_backward, bool breaks_forward,
           std::string explanation) {
    changes_.push_back({kind, pointer, breaks_backward, breaks_forward, std::move(explanation)});
  }

  // The JSON types a schema admits; absent "type" admits all.
  static std::set<std::string> types_of(const json& schema) {
    std::set<std::string> types;
    auto type = schema.find("type");
    if (type == schema.end()) {
      return {"array", "boolean", "integer", "null", "number", "object", "string"};
    }
    if (type->is_string()) types.insert(type->get<std::string>());
    if (type->is_array()) {
      for (const auto& t : *type) {
        if (t.is_string()) types.insert(t.get<std::string>());
      }
    }
    return types;
  }

  // True when every value of type `t` is admitted by `types` (an integer is a number).
  static bool covers(const std::set<std::string>& types, const std::string& t) {
    return types.count(t) == 1 || (t == "integer" && types.count("number") == 1);
  }

  static bool covers_all(const std::set<std::string>& outer, const std::set<std::string>& inner) {
    return std::all_of(inner.begin(), inner.end(),
                       [&](const std::string& t) { return covers(outer, t); });
  }

  static std::string type_text(const json& schema) {
    auto type = schema.find("type");
    return type == schema.end() ? std::string("any type") : type->dump();
  }

  void compare_types(const json& o, const json& n, const std::string& p) {
    if (o.value("type", json()) == n.value("type", json())) return;
    const auto old_types = types_of(o);
    const auto new_types = types_of(n);
    const bool narrowed = !covers_all(new_types, old_types);
    const bool widened = !covers_all(old_types, new_types);
    if (!narrowed && !widened) return;
    const std::string text = "type changed from " + type_text(o) + " to " + type_text(n);
    const Kind kind = narrowed && widened ? Kind::kTypeChanged
                      : narrowed          ? Kind::kTypeNarrowed
                                          : Kind::kTypeWidened;
    add(kind, p, narrowed, widened, text);
  }

  // enum and const as one set of allowed values; nullopt = unrestricted.
  static std::optional<std::vector<json>> allowed_values(const json& schema) {
    std::optional<std::vector<json>> values;
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      values.emplace(e->begin(), e->end());
    }
    if (auto c = schema.find("const"); c != schema.end()) {
      if (!values) return std::vector<json>{*c};
      const bool in_enum = std::find(values->begin(), values->end(), *c) != values->end();
      return in_enum ? std::vector<json>{*c} : std::vector<json>{};
    }
    return values;
  }

  void compare_values(const json& o, const json& n, const std::string& p) {
    const auto old_values = allowed_values(o);
    const auto new_values = allowed_values(n);
    if (!old_values && !new_values) return;
    if (!old_values) {
      add(Kind::kEnumNarrowed, p, true, false,
          "now restricted to the values " + quoted_list(*new_values));
      return;
    }
    if (!new_values) {
      add(Kind::kEnumWidened, p, false, true,
          "no longer restricted to the values " + quoted_list(*old_values));
      return;
    }
    std::vector<json> removed;
    std::vector<json> added;
    for (const auto& v : *old_values) {
      if (std::find(new_values->begin(), new_values->end(), v) == new_values->end()) {
        removed.push_back(v);
      }
    }
    for (const auto& v : *new_values) {
      if (std::find(old_values->begin(), old_values->end(), v) == old_values->end()) {
        added.push_back(v);
      }
    }
    if (!removed.empty()) {
      add(Kind::kEnumNarrowed, p, true, false,
          "no longer allows the value" + std::string(removed.size() > 1 ? "s " : " ") +
              quoted_list(removed));
    }
    if (!added.empty()) {
      add(Kind::kEnumWidened, p, false, true,
          "now also allows the value" + std::string(added.size() > 1 ? "s " : " ") +
              quoted_list(added));
    }
  }

  // pattern and format: adding one narrows, dropping one widens, changing one does both (the
  // checker does not decide whether one regular expression includes another).
  void compare_string_rule(const json& o, const json& n, const std::string& p,
                           const char* keyword, Kind kind) {
    auto a = o.find(keyword);
    auto b = n.find(keyword);
    const bool has_old = a != o.end();
    const bool has_new = b != n.end();
    if (!has_old && !has_new) return;
    if (has_old && has_new && *a == *b) return;
    const std::string name = keyword;
    if (!has_old) {
      add(kind, p, true, false, "now has the " + name + " " + b->dump());
    } else if (!has_new) {
      add(kind, p, false, true, "no longer has the " + name + " " + a->dump());
    } else {
      add(kind, p, true, true, name + " changed from " + a->dump() + " to " + b->dump());
    }
  }

  void compare_bounds(const json& o, const json& n, const std::string& p) {
    for (const auto& [keyword, larger_is_stricter] : kBounds) {
      const std::string key(keyword);
      auto a = o.find(key);
      auto b = n.find(key);
      const bool has_old = a != o.end() && a->is_number();
      const bool has_new = b != n.end() && b->is_number();
      if (!has_old && !has_new) continue;
      bool narrowed = false;
      if (has_old && has_new) {
        const double x = a->get<double>();
        const double y = b->get<double>();
        if (x == y) continue;
        narrowed = larger_is_stricter ? y > x : y < x;
      } else {
        narrowed = has_new;
      }
      const std::string text =
          key + (has_old && has_new ? " changed from " + a->dump() + " to " + b->dump()
                 : has_new          ? " " + b->dump() + " was added"
                                    : " " + a->dump() + " was removed");
      add(narrowed ? Kind::kBoundNarrowed : Kind::kBoundWidened, p, narrowed, !narrowed, text);
    }
    const bool old_unique = o.value("uniqueItems", false) == true;
    const bool new_unique = n.value("uniqueItems", false) == true;
    if (old_unique != new_unique) {
      add(new_unique ? Kind::kBoundNarrowed : Kind::kBoundWidened, p, new_unique, !new_unique,
          new_unique ? "items must now be unique" : "items no longer need to be unique");
    }
  }

  void compare_sensitivity(const json& o, const json& n, const std::string& p) {
    const json a = o.value("x-sensitivity", json());
    const json b = n.value("x-sensitivity", json());
    if (a == b) return;
    if (b.is_null()) {
      add(Kind::kSensitivityRemoved, p, true, true,
          "is no longer tagged " + a.dump() +
              ": it would reach recipients without consent or a legal basis");
    } else {
      add(Kind::kSensitivityAdded, p, true, true,
          "is now tagged " + b.dump() + (a.is_null() ? "" : " (was " + a.dump() + ")") +
              ": recipients without consent stop receiving it");
    }
  }

  static bool is_closed(const json& schema) {
    auto extra = schema.find("additionalProperties");
    return extra != schema.end() && *extra == false;
  }

  static std::set<std::string> required_of(const json& schema) {
    std::set<std::string> out;
    if (auto r = schema.find("required"); r != schema.end() && r->is_array()) {
      for (const auto& name : *r) {
        if (name.is_string()) out.insert(name.get<std::string>());
      }
    }
    return out;
  }

  void compare_object(const json& o, const json& n, const std::string& p, int depth) {
    static const json kNoProperties = json::object();
    auto op = o.find("properties");
    auto np = n.find("properties");
    const json& old_props = op != o.end() && op->is_object() ? *op : kNoProperties;
    const json& new_props = np != n.end() && np->is_object() ? *np : kNoProperties;
    const auto old_required = required_of(o);
    const auto new_required = required_of(n);
    const bool old_closed = is_closed(o);
    const bool new_closed = is_closed(n);

    std::set<std::string> names;
    for (auto it = old_props.begin(); it != old_props.end(); ++it) names.insert(it.key());
    for (auto it = new_props.begin(); it != new_props.end(); ++it) names.insert(it.key());
    for (const auto& name : old_required) names.insert(name);
    for (const auto& name : new_required) names.insert(name);

    for (const auto& name : names) {
      const std::string child = p + "/" + escape_pointer_token(name);
      const bool in_old = old_props.contains(name);
      const bool in_new = new_props.contains(name);
      const bool req_old = old_required.count(name) == 1;
      const bool req_new = new_required.count(name) == 1;
      if (in_old && !in_new) {
        // Old payloads may carry it: a closed new schema refuses them. New payloads lack it: an
        // old schema that required it refuses them.
        add(Kind::kPropertyRemoved, child, new_closed, req_old,
            std::string("the ") + (req_old ? "required" : "optional") + " property was removed" +
                (new_closed ? " and the object is closed" : ""));
        continue;
      }
      if (!in_old && in_new) {
        add(Kind::kPropertyAdded, child, req_new, old_closed,
            std::string(req_new ? "a required" : "an optional") + " property was added" +
                (old_closed && !req_new ? " to a closed object" : ""));
        continue;
      }
      if (req_old != req_new) {
        add(req_new ? Kind::kBecameRequired : Kind::kBecameOptional, child, req_new, !req_new,
            req_new ? "is now required" : "is no longer required");
      }
      if (in_old && in_new) compare(old_props[name], new_props[name], child, depth + 1);
    }

    if (old_closed != new_closed) {
      add(new_closed ? Kind::kClosed : Kind::kOpened, p, new_closed, !new_closed,
          new_closed ? "no longer accepts undeclared properties"
                     : "now accepts undeclared properties");
    }
    auto oa = o.find("additionalProperties");
    auto na = n.find("additionalProperties");
    if (oa != o.end() && na != n.end() && oa->is_object() && na->is_object()) {
      compare(*oa, *na, p + "/*", depth + 1);
    } else if ((oa != o.end() && oa->is_object()) != (na != n.end() && na->is_object()) &&
               old_closed == new_closed) {
      add(Kind::kOtherChange, p, true, true, "the schema for undeclared properties changed");
    }
  }

  void compare_items(const json& o, const json& n, const std::string& p, int depth) {
    auto a = o.find("items");
    auto b = n.find("items");
    const bool has_old = a != o.end();
    const bool has_new = b != n.end();
    if (!has_old && !has_new) return;
    if (has_old && has_new && a->is_object() && b->is_object()) {
      compare(*a, *b, p + "/*", depth + 1);
      return;
    }
    if (has_old && has_new && *a == *b) return;
    add(Kind::kOtherChange, p + "/*", true, true, "the schema of the items changed");
  }

  // Keywords the checker does not reason about, compared as a whole.
  void compare_others(const json& o, const json& n, const std::string& p) {
    std::set<std::string> keys;
    for (auto it = o.begin(); it != o.end(); ++it) keys.insert(it.key());
    for (auto it = n.begin(); it != n.end(); ++it) keys.insert(it.key());
    for (const auto& key : keys) {
      if (is_understood(key) || key.rfind("x-", 0) == 0) continue;
      const json a = o.value(key, json());
      const json b = n.value(key, json());
      if (a != b) {
        add(Kind::kOtherChange, p, true, true,
            "'" + key + "' changed, which the checker cannot compare; treated as incompatible");
      }
    }
  }

  void compare(const json& old_in, const json& new_in, const std::string& p, int depth) {
    const json& o = resolve(old_in, old_root_);
    const json& n = resolve(new_in, new_root_);
    if (o == n) return;
    if (depth > 64) {
      add(Kind::kOtherChange, p, true, true, "nested too deeply to compare");
      return;
    }
    if (!o.is_object() || !n.is_object()) {
      if (o != n) add(Kind::kOtherChange, p, true, true, "a boolean schema changed");
      return;
    }
    compare_sensitivity(o, n, p);
    compare_types(o, n, p);
    compare_values(o, n, p);
    compare_string_rule(o, n, p, "pattern", Kind::kPatternChanged);
    compare_string_rule(o, n, p, "format", Kind::kFormatChanged);
    compare_bounds(o, n, p);
    compare_object(o, n, p, depth);
    compare_items(o, n, p, depth);
    compare_others(o, n, p);
  }

  const json& old_root_;
  const json& new_root_;
  std::vector<SchemaChange> changes_;
};

bool is_transitive(CompatibilityMode mode) {
  return mode == CompatibilityMode::kBackwardTransitive ||
         mode == CompatibilityMode::kForwardTransitive ||
         mode == CompatibilityMode::kFullTransitive;
}

bool checks_backward(CompatibilityMode mode) {
  return mode == CompatibilityMode::kBackward || mode == CompatibilityMode::kFull ||
         mode == CompatibilityMode::kBackwardTransitive ||
         mode == CompatibilityMode::kFullTransitive;
}

bool checks_forward(CompatibilityMode mode) {
  return mode == CompatibilityMode::kForward || mode == CompatibilityMode::kFull ||
         mode == CompatibilityMode::kForwardTransitive ||
         mode == CompatibilityMode::kFullTransitive;
}

}  // namespace

std::optional<CompatibilityMode> parse_compatibility_mode(std::string_view text) {
  for (const auto& [mode, name] : kModeNames) {
    if (name == text) return mode;
  }
  return std::nullopt;
}

std::string_view to_string(CompatibilityMode mode) {
  for (const auto& [m, name] : kModeNames) {
    if (m == mode) return name;
  }
  return "?";
}

std::string_view to_string(SchemaChange::Kind kind) {
  switch (kind) {
    case Kind::kPropertyAdded: return "property-added";
    case Kind::kPropertyRemoved: return "property-removed";
    case Kind::kBecameRequired: return "became-required";
    case Kind::kBecameOptional: return "became-optional";
    case Kind::kTypeNarrowed: return "type-narrowed";
    case Kind::kTypeWidened: return "type-widened";
    case Kind::kTypeChanged: return "type-changed";
    case Kind::kEnumNarrowed: return "enum-narrowed";
    case Kind::kEnumWidened: return "enum-widened";
    case Kind::kPatternChanged: return "pattern-changed";
    case Kind::kFormatChanged: return "format-changed";
    case Kind::kBoundNarrowed: return "bound-narrowed";
    case Kind::kBoundWidened: return "bound-widened";
    case Kind::kClosed: return "closed";
    case Kind::kOpened: return "opened";
    case Kind::kSensitivityAdded: return "sensitivity-added";
    case Kind::kSensitivityRemoved: return "sensitivity-removed";
    case Kind::kOtherChange: return "other-change";
  }
  return "?";
}

Result<std::vector<SchemaChange>> compare_schemas(std::string_view old_schema,
                                                  std::string_view new_schema) {
  json old_root;
  json new_root;
  try {
    old_root = json::parse(old_schema);
    new_root = json::parse(new_schema);
  } catch (const json::exception& e) {
    return Error{ErrorCode::kConfig, std::string("schema is not JSON: ") + e.what()};
  }
  return Comparer(old_root, new_root).run();
}

bool is_allowed(const SchemaChange& change, CompatibilityMode mode) {
  if (checks_backward(mode) && change.breaks_backward) return false;
  if (checks_forward(mode) && change.breaks_forward) return false;
  return true;
}

std::string describe_break(const SchemaChange& change, CompatibilityMode mode,
                           std::uint32_t old_version, std::uint32_t new_version) {
  const std::string v_old = "v" + std::to_string(old_version);
  const std::string v_new = "v" + std::to_string(new_version);
  std::string why;
  if (change.kind == Kind::kSensitivityAdded || change.kind == Kind::kSensitivityRemoved) {
    why = "it changes who may receive the field; only NONE allows that, after the consumers agreed";
  } else if (checks_backward(mode) && change.breaks_backward) {
    why = "a payload valid under " + v_old + " can be refused by " + v_new +
          ", so consumers that move to " + v_new + " cannot read what " + v_old + " producers send";
  }
  if (checks_forward(mode) && change.breaks_forward) {
    why += std::string(why.empty() ? "" : "; and ") + "a payload valid under " + v_new +
           " can be refused by " + v_old + ", so consumers still on " + v_old +
           " cannot read what " + v_new + " producers send";
  }
  return where(change.pointer) + ": " + change.explanation + " (" + v_old + " -> " + v_new +
         ", breaks " + std::string(to_string(mode)) + ": " + why + ")";
}

std::vector<CompatibilityProblem> check_versions(const std::vector<VersionedSchema>& versions) {
  std::vector<CompatibilityProblem> problems;
  for (std::size_t i = 1; i < versions.size(); ++i) {
    const VersionedSchema& newer = versions[i];
    if (newer.mode == CompatibilityMode::kNone) continue;
    const std::size_t first = is_transitive(newer.mode) ? 0 : i - 1;
    for (std::size_t j = first; j < i; ++j) {
      const VersionedSchema& older = versions[j];
      auto changes = compare_schemas(older.schema_json, newer.schema_json);
      if (!changes) {
        problems.push_back({older.version, newer.version, newer.mode,
                            {Kind::kOtherChange, "", true, true, changes.error().detail}});
        continue;
      }
      for (auto& change : *changes) {
        if (!is_allowed(change, newer.mode)) {
          problems.push_back({older.version, newer.version, newer.mode, std::move(change)});
        }
      }
    }
  }
  return problems;
}

}  // namespace contracts
