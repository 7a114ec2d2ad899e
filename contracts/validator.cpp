// GCC 12 at -O2/-O3 reports a false -Wrestrict inside std::string::replace as inlined from
// valijson's json_pointer.hpp (GCC bug 105329). The warning is attributed to libstdc++'s
// char_traits.h, so it has to be silenced before the first include, for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include "contracts/validator.h"
#include "contracts/json_pointer.h"

// Without this, valijson calls abort() on a schema it cannot parse.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "contracts/fast_schema.h"
#include "contracts/formats.h"

namespace contracts {
namespace {

using json = nlohmann::json;

constexpr std::size_t kNoError = std::string_view::npos;
constexpr int kMaxRefHops = 32;  // $ref/allOf steps at one instance location (stops $ref loops)

// Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629, Table 3-7
// of the Unicode standard): no overlongs, no surrogates, nothing above U+10FFFF, nothing cut off.
std::size_t first_invalid_utf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    // Payloads are mostly ASCII: skip it eight bytes at a time.
    while (n - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p + i, sizeof word);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char lead = p[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead == 0xE0) {
      length = 3;
      low = 0xA0;  // no overlong 3-byte forms
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      length = 3;
    } else if (lead == 0xED) {
      length = 3;
      high = 0x9F;  // no surrogates U+D800..U+DFFF
    } else if (lead == 0xF0) {
      length = 4;
      low = 0x90;  // no overlong 4-byte forms
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      length = 4;
    } else if (lead == 0xF4) {
      length = 4;
      high = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;  // continuation byte, C0/C1 overlong lead, or F5..FF
    }
    if (n - i < length) return i;
    if (p[i + 1] < low || p[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return kNoError;
}


std::string join_pointer(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& token : tokens) {
    out += '/';
    out += escape_pointer_token(token);
  }
  return out;
}

bool parse_index(std::string_view token, std::size_t& index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  return ec == std::errc() && end == token.data() + token.size();
}

// A schema value (an enum member, a limit) as JSON for a reason, cut to a readable length without
// splitting a UTF-8 sequence.
std::string short_dump(const json& value) {
  std::string text = value.dump();
  if (text.size() <= 60) return text;
  std::size_t cut = 57;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

// What the validator keeps of one schema location for its own walk over the instance: the
// format to check there and how to reach the schemas of child values. valijson never sees formats.
struct SchemaNode {
  Format format = Format::kUnchecked;
  int ref = -1;  // draft 7: a $ref replaces the rest of its schema
  std::vector<int> all_of;
  std::map<std::string, int, std::less<>> properties;
  bool has_pattern_properties = false;
  bool closed = false;  // additionalProperties: false
  int additional_properties = -1;
  int items = -1;                // "items": {...}
  std::vector<int> tuple_items;  // "items": [...]
  int additional_items = -1;
  bool unique_items = false;  // checked by the walk, not by valijson (see strip_formats)
  // The rule of each keyword here, rendered for reasons, keyed by the error code it explains:
  // "type" -> "a string or null", "enum" -> "\"forced\", \"dublin\"", "maximum" -> "9".
  std::map<std::string, std::string, std::less<>> rule_text;
};

// Builds SchemaNodes from a schema document, one per schema location reached from the root
// through properties, additionalProperties, items, additionalItems, allOf and local $refs.
class SchemaTreeBuilder {
 public:
  explicit SchemaTreeBuilder(const json& root) : root_(root) {}

  // Index of the node for the schema at `pointer` (a JSON pointer into the schema document).
  int node_at(const std::string& pointer, const json& schema) {
    if (auto it = by_pointer_.find(pointer); it != by_pointer_.end()) return it->second;
    const int index = static_cast<int>(nodes_.size());
    nodes_.emplace_back();
    by_pointer_.emplace(pointer, index);
    if (schema.is_object()) nodes_[static_cast<std::size_t>(index)] = build(pointer, schema);
    return index;
  }

  std::vector<SchemaNode> take_nodes() { return std::move(nodes_); }
  bool reaches(const std::string& pointer) const { return by_pointer_.count(pointer) != 0; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  SchemaNode build(const std::string& pointer, const json& schema) {
    SchemaNode node;  // filled locally: recursion grows nodes_ and moves its elements
    if (auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
      node.ref = resolve_ref(pointer, ref->get<std::string>());
      return node;
    }
    if (auto format = schema.find("format"); format != schema.end() && format->is_string()) {
      node.format = format_from_name(format->get<std::string>());
    }
    if (auto type = schema.find("type"); type != schema.end()) {
      node.rule_text["type"] = type_text(*type);
    }
    if (auto unique = schema.find("uniqueItems"); unique != schema.end() && unique->is_boolean()) {
      node.unique_items = unique->get<bool>();
    }
    if (auto values = schema.find("enum"); values != schema.end() && values->is_array()) {
      std::string text;
      std::size_t shown = 0;
      for (const auto& value : *values) {
        if (!text.empty()) text += ", ";
        if (++shown > 12) {
          text += "...";
          break;
        }
        text += short_dump(value);
      }
      node.rule_text["enum"] = text;
    }
    if (auto pattern = schema.find("pattern"); pattern != schema.end() && pattern->is_string()) {
      node.rule_text["pattern"] = pattern->get<std::string>();
    }
    for (const char* keyword :
         {"const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
          "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf"}) {
      if (auto value = schema.find(keyword); value != schema.end()) {
        node.rule_text[keyword] = short_dump(*value);
      }
    }
    if (auto properties = schema.find("properties");
        properties != schema.end() && properties->is_object()) {
      for (auto it = properties->begin(); it != properties->end(); ++it) {
        const std::string child = pointer + "/properties/" + escape_pointer_token(it.key());
        node.properties.emplace(it.key(), node_at(child, it.value()));
      }
    }
    node.has_pattern_properties = schema.contains("patternProperties");
    if (auto additional = schema.find("additionalProperties"); additional != schema.end()) {
      if (additional->is_boolean()) {
        node.closed = !additional->get<bool>();
      } else {
        node.additional_properties = node_at(pointer + "/additionalProperties", *additional);
      }
    }
    if (auto items = schema.find("items"); items != schema.end()) {
      if (items->is_array()) {
        for (std::size_t i = 0; i < items->size(); ++i) {
          node.tuple_items.push_back(node_at(pointer + "/items/" + std::to_string(i), (*items)[i]));
        }
      } else {
        node.items = node_at(pointer + "/items", *items);
      }
    }
    if (auto additional = schema.find("additionalItems"); additional != schema.end()) {
      node.additional_items = node_at(pointer + "/additionalItems", *additional);
    }
    if (auto all_of = schema.find("allOf"); all_of != schema.end() && all_of->is_array()) {
      for (std::size_t i = 0; i < all_of->size(); ++i) {
        node.all_of.push_back(node_at(pointer + "/allOf/" + std::to_string(i), (*all_of)[i]));
      }
    }
    return node;
  }

  // Only references into this document ("#", "#/definitions/x"); valijson refuses the others.
  int resolve_ref(const std::string& pointer, const std::string& ref) {
    if (ref.empty() || ref[0] != '#') {
      problems_.push_back("$ref '" + ref + "' at '" + pointer +
                          "' is not local (only \"#/...\" references are supported)");
      return -1;
    }
    std::string target;
    for (std::size_t i = 1; i < ref.size(); ++i) {  // percent-decode the URI fragment
      if (ref[i] == '%' && i + 2 < ref.size()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(ref.data() + i + 1, ref.data() + i + 3, value, 16);
        if (ec == std::errc() && end == ref.data() + i + 3) {
          target += static_cast<char>(value);
          i += 2;
          continue;
        }
      }
      target += ref[i];
    }
    try {
      const json::json_pointer json_pointer(target);
      if (!root_.contains(json_pointer)) {
        problems_.push_back("$ref '" + ref + "' at '" + pointer + "' points nowhere");
        return -1;
      }
      return node_at(target, root_.at(json_pointer));
    } catch (const json::exception&) {
      problems_.push_back("$ref '" + ref + "' at '" + pointer + "' is not a JSON pointer");
      return -1;
    }
  }

  static std::string type_text(const json& type) {
    auto article = [](const std::string& name) {
      if (name == "null") return name;
      if (name == "array" || name == "object" || name == "integer") return "an " + name;
      return "a " + name;
    };
    if (type.is_string()) return article(type.get<std::string>());
    std::string out;
    if (type.is_array()) {
      for (const auto& name : type) {
        if (!name.is_string()) continue;
        if (!out.empty()) out += " or ";
        out += article(name.get<std::string>());
      }
    }
    return out;
  }

  const json& root_;
  std::vector<SchemaNode> nodes_;
  std::map<std::string, int> by_pointer_;
  std::vector<std::string> problems_;
};

// Removes every `format` keyword so valijson never runs its regex-per-call format checks, and
// reports known formats in places the walk does not reach: those would silently go unchecked.
// Also removes `uniqueItems` where the walk reaches it: valijson compares every pair of items
// (and, collecting errors, records one per equal pair: n^2/2 of them for n equal items), while
// the walk sorts. Also lists the schema pointers of every allOf with two or more branches (see Impl).
void strip_formats(json& schema, const std::string& pointer, const SchemaTreeBuilder& tree,
                   std::vector<std::string>& problems, std::vector<std::string>& all_ofs) {
  if (!schema.is_object()) return;
  if (auto all_of = schema.find("allOf");
      all_of != schema.end() && all_of->is_array() && all_of->size() >= 2) {
    all_ofs.push_back(pointer + "/allOf");
  }
  if (auto format = schema.find("format"); format != schema.end() && format->is_string()) {
    const std::string name = format->get<std::string>();
    if (format_from_name(name) != Format::kUnchecked && !tree.reaches(pointer)) {
      problems.push_back("format '" + name + "' at '" + pointer +
                         "' would not be checked: formats are supported under properties, "
                         "additionalProperties, items, allOf and local $ref only");
    }
    schema.erase(format);
  }
  if (tree.reaches(pointer) && !schema.contains("$ref")) schema.erase("uniqueItems");
  auto each_member = [&](const char* keyword) {
    if (auto it = schema.find(keyword); it != schema.end() && it->is_object()) {
      for (auto member = it->begin(); member != it->end(); ++member) {
        strip_formats(member.value(),
                      pointer + "/" + keyword + "/" + escape_pointer_token(member.key()), tree,
                      problems, all_ofs);
      }
    }
  };
  auto each_element = [&](const char* keyword) {
    if (auto it = schema.find(keyword); it != schema.end() && it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i) {
        strip_formats((*it)[i], pointer + "/" + keyword + "/" + std::to_string(i), tree, problems,
                      all_ofs);
      }
    }
  };
  auto single = [&](const char* keyword) {
    if (auto it = schema.find(keyword); it != schema.end()) {
      strip_formats(*it, pointer + "/" + keyword, tree, problems, all_ofs);
    }
  };
  for (const char* keyword :
       {"properties", "patternProperties", "definitions", "$defs", "dependencies"}) {
    each_member(keyword);
  }
  for (const char* keyword : {"allOf", "anyOf", "oneOf", "items"}) each_element(keyword);
  for (const char* keyword : {"additionalProperties", "items", "additionalItems", "contains",
                              "propertyNames", "if", "then", "else", "not"}) {
    single(keyword);
  }
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// The name quoted in "Missing required property 'x'." and "...constraints: 'x'.".
std::string quoted_name(std::string_view description, std::string_view prefix) {
  const std::size_t start = description.find(prefix);
  if (start == std::string_view::npos) return {};
  const std::string_view rest = description.substr(start + prefix.size());
  const std::size_t end = rest.rfind("'.");
  return std::string(end == std::string_view::npos ? rest : rest.substr(0, end));
}

// Maps a valijson error description to a machine code. Empty for the wrappers valijson adds on
// every level above a real error ("failed to validate against schema associated with property").
std::string_view classify(std::string_view description) {
  static constexpr std::string_view kNoise[] = {
      "Failed to validate against schema associated with",
      "Failed to validate item #",
      "Failed to validate against additional properties schema",
      "Failed to validate against child schema #",
      "Failed to validate against a conditional schema",
      "Failed to validate against dependent schema",
  };
  for (const auto prefix : kNoise) {
    if (starts_with(description, prefix)) return {};
  }
  static constexpr std::pair<std::string_view, std::string_view> kCodes[] = {
      {"Missing required property", "required"},
      {"Value type not permitted", "type"},
      {"Failed to match against any enum values", "enum"},
      {"Failed to match expected value set by 'const'", "const"},
      {"Failed to match regex", "pattern"},
      {"Object contains a property that could not be validated", "additionalProperties"},
      {"Expected number less than or equal to", "maximum"},
      {"Expected number less than", "exclusiveMaximum"},
      {"Expected number greater than or equal to", "minimum"},
      {"Expected number greater than", "exclusiveMinimum"},
      {"Array should contain no more than", "maxItems"},
      {"Array should contain no fewer than", "minItems"},
      {"String should be no more than", "maxLength"},
      {"String should be no fewer than", "minLength"},
      {"Object should have no more than", "maxProperties"},
      {"Object should have no fewer than", "minProperties"},
      {"Value should be a multiple of", "multipleOf"},
      {"Value could not be converted", "multipleOf"},
      {"Elements at indexes", "uniqueItems"},
      {"Target should not validate against schema specified in 'not'", "not"},
      {"Failed to validate against any schemas allowed by anyOf", "anyOf"},
      {"Failed to validate against any child schemas allowed by oneOf", "oneOf"},
      {"Failed to validate against exactly one child schema", "oneOf"},
      {"Failed to any values against subschema in 'contains'", "contains"},
      {"Missing dependency", "dependencies"},
      {"Array contains more items than allowed", "additionalItems"},
      {"Cannot validate item #", "additionalItems"},
      {"String should be a valid", "format"},
  };
  for (const auto& [prefix, code] : kCodes) {
    if (starts_with(description, prefix)) return code;
  }
  return "schema";
}

// A step in the instance path during the walk: an object key or an array index.
struct PathStep {
  const std::string* key = nullptr;  // owned by the parsed payload; nullptr for an index
  std::size_t index = 0;
};

std::string render_pointer(const std::vector<PathStep>& path) {
  std::string out;
  for (const auto& step : path) {
    out += '/';
    out += step.key ? escape_pointer_token(*step.key) : std::to_string(step.index);
  }
  return out;
}

// Walks the payload alongside the SchemaNodes: checks formats and uniqueItems, and names every
// property of a closed object that the schema does not declare (valijson names only the first).
// Stops once `errors` holds `limit` errors (stopped() tells).
class InstanceWalker {
 public:
  InstanceWalker(const std::vector<SchemaNode>& nodes, std::vector<FieldError>& errors, std::size_t limit)
      : nodes_(nodes), errors_(errors), limit_(limit) {}

  bool stopped() const { return stopped_; }

  void walk(const json& value, int index, int hops) {
    if (index < 0 || hops > kMaxRefHops) return;
    if (errors_.size() >= limit_) {
      stopped_ = true;
      return;
    }
    const SchemaNode& node = nodes_[static_cast<std::size_t>(index)];
    if (node.ref >= 0) {
      walk(value, node.ref, hops + 1);
      return;
    }
    for (const int sub : node.all_of) walk(value, sub, hops + 1);
    if (node.format != Format::kUnchecked && value.is_string() &&
        !matches_format(node.format, value.get_ref<const std::string&>())) {
      errors_.push_back({render_pointer(path_), "format", std::string(describe(node.format))});
    }
    if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (errors_.size() >= limit_) {
          stopped_ = true;
          return;
        }
        int child = node.additional_properties;
        if (auto property = node.properties.find(it.key()); property != node.properties.end()) {
          child = property->second;
        } else if (node.has_pattern_properties) {
          continue;  // left to valijson; formats under patternProperties are refused at compile
        } else if (node.closed) {
          path_.push_back({&it.key(), 0});
          errors_.push_back({render_pointer(path_), "additionalProperties",
                             "property '" + it.key() + "' is not in the contract"});
          path_.pop_back();
          continue;
        }
        if (child < 0) continue;
        path_.push_back({&it.key(), 0});
        walk(it.value(), child, 0);
        path_.pop_back();
      }
    } else if (value.is_array()) {
      if (node.unique_items && has_equal_items(value)) {
        errors_.push_back({render_pointer(path_), "uniqueItems", "must not contain the same item twice"});
      }
      for (std::size_t i = 0; i < value.size() && !stopped_; ++i) {
        int child = node.items;
        if (!node.tuple_items.empty()) {
          child = i < node.tuple_items.size() ? node.tuple_items[i] : node.additional_items;
        }
        if (child < 0) continue;
        path_.push_back({nullptr, i});
        walk(value[i], child, 0);
        path_.pop_back();
      }
    }
  }

 private:
  // Sorted, equal items are neighbours: n log n comparisons instead of valijson's n^2/2. Equality
  // is nlohmann's (numbers by value, so 1 equals 1.0, as draft 7 says).
  static bool has_equal_items(const json& array) {
    if (array.size() < 2) return false;
    std::vector<const json*> items;
    items.reserve(array.size());
    for (const auto& item : array) items.push_back(&item);
    std::sort(items.begin(), items.end(), [](const json* a, const json* b) { return *a < *b; });
    return std::adjacent_find(items.begin(), items.end(),
                              [](const json* a, const json* b) { return *a == *b; }) != items.end();
  }

  const std::vector<SchemaNode>& nodes_;
  std::vector<FieldError>& errors_;
  std::size_t limit_;
  bool stopped_ = false;
  std::vector<PathStep> path_;
};

// Adds `index` and the nodes it stands for through $ref and allOf.
void add_with_closure(const std::vector<SchemaNode>& nodes, int index, std::vector<int>& out,
                      int hops) {
  if (index < 0 || hops > kMaxRefHops) return;
  out.push_back(index);
  const SchemaNode& node = nodes[static_cast<std::size_t>(index)];
  add_with_closure(nodes, node.ref, out, hops + 1);
  for (const int sub : node.all_of) add_with_closure(nodes, sub, out, hops + 1);
}

// The SchemaNodes that apply to the value at `tokens`, for wording a reason. Best effort: schema
// locations the walk does not know (anyOf branches, ...) are missing from the list.
std::vector<int> nodes_for(const std::vector<SchemaNode>& nodes, const json& document,
                           const std::vector<std::string>& tokens) {
  std::vector<int> current;
  add_with_closure(nodes, 0, current, 0);
  const json* value = &document;
  for (const auto& token : tokens) {
    std::vector<int> next;
    std::size_t index = 0;
    const bool is_array = value != nullptr && value->is_array();
    const bool has_index = is_array && parse_index(token, index);
    for (const int candidate : current) {
      const SchemaNode& node = nodes[static_cast<std::size_t>(candidate)];
      int child = -1;
      if (is_array) {
        child = node.items;
        if (!node.tuple_items.empty() && has_index) {
          child = index < node.tuple_items.size() ? node.tuple_items[index] : node.additional_items;
        }
      } else if (auto property = node.properties.find(token); property != node.properties.end()) {
        child = property->second;
      } else {
        child = node.additional_properties;
      }
      add_with_closure(nodes, child, next, 0);
    }
    current = std::move(next);
    if (value != nullptr && value->is_object()) {
      auto it = value->find(token);
      value = it == value->end() ? nullptr : &*it;
    } else if (has_index && index < value->size()) {
      value = &(*value)[index];
    } else {
      value = nullptr;
    }
  }
  return current;
}

const json* value_at(const json& document, const std::vector<std::string>& tokens) {
  const json* value = &document;
  for (const auto& token : tokens) {
    std::size_t index = 0;
    if (value->is_object()) {
      auto it = value->find(token);
      if (it == value->end()) return nullptr;
      value = &*it;
    } else if (value->is_array() && parse_index(token, index) && index < value->size()) {
      value = &(*value)[index];
    } else {
      return nullptr;
    }
  }
  return value;
}

// The reason a clerk reads: names the rule, never echoes the payload's values.
std::string reason_for(std::string_view code, const std::string& description,
                       const std::vector<SchemaNode>& nodes, const json& document,
                       const std::vector<std::string>& tokens) {
  std::string rule;
  for (const int index : nodes_for(nodes, document, tokens)) {
    const auto& texts = nodes[static_cast<std::size_t>(index)].rule_text;
    if (auto it = texts.find(code); it != texts.end() && !it->second.empty()) {
      rule = it->second;
      break;
    }
  }
  if (code == "type") {
    const json* value = value_at(document, tokens);
    const std::string found = value ? std::string(" (found ") + value->type_name() + ")" : "";
    return (rule.empty() ? "has a type the contract does not allow" : "must be " + rule) + found;
  }
  if (code == "anyOf") {
    return "matches none of the allowed alternatives (anyOf); the errors of each are listed";
  }
  if (code == "oneOf") return "must match exactly one of the allowed alternatives (oneOf)";
  if (code == "not") return "has a form the contract forbids (not)";
  if (code == "uniqueItems") return "must not contain the same item twice";
  if (rule.empty()) return description;
  static constexpr std::pair<std::string_view, std::string_view> kTemplates[] = {
      {"enum", "must be one of {}"},
      {"const", "must be {}"},
      {"pattern", "does not match the pattern {}"},
      {"minimum", "must be at least {}"},
      {"maximum", "must be at most {}"},
      {"exclusiveMinimum", "must be greater than {}"},
      {"exclusiveMaximum", "must be less than {}"},
      {"minLength", "must be at least {} characters long"},
      {"maxLength", "must be at most {} characters long"},
      {"minItems", "must have at least {} items"},
      {"maxItems", "must have at most {} items"},
      {"minProperties", "must have at least {} properties"},
      {"maxProperties", "must have at most {} properties"},
      {"multipleOf", "must be a multiple of {}"},
  };
  for (const auto& [template_code, text] : kTemplates) {
    if (code != template_code) continue;
    const std::size_t slot = text.find("{}");
    return std::string(text.substr(0, slot)) + rule + std::string(text.substr(slot + 2));
  }
  return description;
}

bool pointer_less(const std::string& a, const std::string& b) {
  // Token by token, array indices numerically: "/legs/2" before "/legs/10".
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const std::size_t a_end = std::min(a.find('/', i + 1), a.size());
    const std::size_t b_end = std::min(b.find('/', j + 1), b.size());
    const std::string_view ta(a.data() + i, a_end - i), tb(b.data() + j, b_end - j);
    if (ta != tb) {
      std::size_t na = 0, nb = 0;
      if (parse_index(ta.substr(1), na) && parse_index(tb.substr(1), nb)) return na < nb;
      return ta < tb;
    }
    i = a_end;
    j = b_end;
  }
  return a.size() - i < b.size() - j;
}

// "parse error at line 1, column 7: syntax error while parsing value - invalid literal" from
// nlohmann's message, without the "last read: '...'" excerpt of the payload.
std::string json_error_text(const json::exception& e) {
  std::string text = e.what();
  if (const std::size_t bracket = text.find("] "); bracket != std::string::npos) {
    text.erase(0, bracket + 2);
  }
  if (const std::size_t last_read = text.find("; last read: '"); last_read != std::string::npos) {
    const std::size_t expected = text.rfind("'; expected ");
    std::string tail = expected != std::string::npos && expected > last_read
                           ? text.substr(expected + 1)
                           : std::string();
    text.erase(last_read);
    text += tail;
  }
  return text;
}

// A payload that breaks a parse-time limit; thrown from PayloadLimits to stop the parser at once.
struct PayloadLimitError {
  FieldError error;
};

// Builds the parsed payload from nlohmann's SAX events, as nlohmann's DOM parser does, enforcing
// kMaxPayloadDepth and unique keys on the way (nlohmann keeps the last of two equal keys without a
// word): a key the object already holds is refused at once, named by its JSON pointer. Not
// nlohmann's parser callback: in nlohmann 3.11.2, with a callback, closing an object scans every
// element of its parent, so an array of n objects cost n^2/2 steps (a second for 50 000 `{}`).
class LimitedDomParser {
 public:
  explicit LimitedDomParser(json& root) : root_(root) {}

  bool null() { return place(json(nullptr)); }
  bool boolean(bool value) { return place(json(value)); }
  bool number_integer(json::number_integer_t value) { return place(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return place(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t&) { return place(json(value)); }
  bool string(json::string_t& value) { return place(json(std::move(value))); }
  bool binary(json::binary_t& value) { return place(json::binary(std::move(value))); }
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& name) {
    Frame& frame = frames_.back();
    auto& members = frame.container->get_ref<json::object_t&>();
    auto [it, inserted] = members.try_emplace(std::move(name));
    frame.key = &it->first;
    if (!inserted) {
      throw PayloadLimitError{{pointer(), "duplicate_key",
                               "property '" + it->first + "' appears more than once in the same object"}};
    }
    slot_ = &it->second;
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& error) {
    throw error;
  }

  // Values parsed so far, each container counted twice (its start and its end).
  std::size_t values() const { return values_; }

 private:
  struct Frame {
    json* container = nullptr;
    const std::string* key = nullptr;  // objects: the member being parsed (a key of the map)
  };

  // Puts a value where the innermost container expects it; the value's place in the document.
  json* put(json value) {
    ++values_;
    if (frames_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& container = *frames_.back().container;
    if (container.is_array()) {
      auto& elements = container.get_ref<json::array_t&>();
      elements.push_back(std::move(value));
      return &elements.back();  // stays valid: the array grows again only after this value closed
    }
    *slot_ = std::move(value);
    return slot_;
  }
  bool place(json value) {
    put(std::move(value));
    return true;
  }
  bool open(json::value_t type) {
    if (frames_.size() + 1 > static_cast<std::size_t>(kMaxPayloadDepth)) {
      throw PayloadLimitError{{pointer(), "depth",
                               "payload nests objects and arrays deeper than the limit of " +
                                   std::to_string(kMaxPayloadDepth) + " levels"}};
    }
    frames_.push_back(Frame{put(json(type)), nullptr});
    return true;
  }
  bool close() {
    ++values_;
    frames_.pop_back();
    return true;
  }

  // JSON pointer of the value being parsed: the current member or next element of each open
  // container (a container's own pointer when it has no member or element yet).
  std::string pointer() const {
    std::string out;
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      const Frame& frame = frames_[i];
      if (frame.container->is_array()) {
        // An outer array's last element is the open container below; the innermost array's next
        // element is the one being parsed.
        const std::size_t size = frame.container->size();
        out += '/';
        out += std::to_string(i + 1 < frames_.size() ? size - 1 : size);
      } else {
        if (!frame.key) break;
        out += '/';
        out += escape_pointer_token(*frame.key);
      }
    }
    return out;
  }

  json& root_;
  std::vector<Frame> frames_;
  json* slot_ = nullptr;  // the member value the next value fills, when the innermost container is an object
  std::size_t values_ = 0;
};

// Stops valijson once a collecting pass has recorded enough errors. valijson has no such switch:
// given a ValidationResults it visits every value and records every failure. But its visitor
// keeps its target adapter by value and makes one for each value it visits, so an adapter whose
// copy checks the error count can end the pass by throwing ErrorBudgetSpent; the errors recorded
// so far stay in the results. One budget per thread, set only while a pass runs (BudgetScope).
struct ErrorBudgetSpent {};

struct ErrorBudget {
  const valijson::ValidationResults* results = nullptr;
  std::size_t limit = 0;        // errors recorded in `results`
  std::size_t visits_left = 0;  // adapters made: also bounds anyOf/oneOf branches, whose errors
                                // valijson keeps apart until the branch is done
};
thread_local ErrorBudget t_budget;

class CountingAdapter : public valijson::adapters::NlohmannJsonAdapter {
 public:
  explicit CountingAdapter(const json& value) : NlohmannJsonAdapter(value) {}
  // Implicit on purpose: valijson's arrays and objects hand out plain adapters, and the visitor
  // turns each into its AdapterType, so every child value passes through here.
  CountingAdapter(const NlohmannJsonAdapter& other) : NlohmannJsonAdapter(other) { check(); }  // NOLINT
  CountingAdapter(const CountingAdapter& other) : NlohmannJsonAdapter(other) { check(); }
  CountingAdapter& operator=(const CountingAdapter&) = delete;  // as the base: it holds a const value

 private:
  static void check() {
    if (!t_budget.results) return;
    if (t_budget.results->numErrors() >= t_budget.limit || t_budget.visits_left == 0) {
      throw ErrorBudgetSpent{};
    }
    --t_budget.visits_left;
  }
};

class BudgetScope {
 public:
  BudgetScope(const valijson::ValidationResults& results, std::size_t limit, std::size_t visits) {
    t_budget = {&results, limit, visits};
  }
  ~BudgetScope() { t_budget = {}; }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
};

// valijson also records a wrapper on every level above a real error ("failed to validate item #3"),
// so a pass that stops at this many entries has found between a third and all of them.
constexpr std::size_t kMaxRecordedErrors = kMaxCollectedErrors;
// Adapters the collecting passes may make, per value in the payload: one pass over the payload
// makes about one per value, and an allOf variant or an anyOf/oneOf branch makes another.
constexpr std::size_t kVisitsPerValue = 8;
constexpr std::size_t kMinVisits = 10'000;

// `text` cut to at most `limit` bytes without splitting a UTF-8 sequence, "..." marking a cut.
std::string cut_text(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t cut = limit > 3 ? limit - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

// Sorted, deduplicated errors as a refusal lists them: at most kMaxListedErrors, within
// kMaxListedErrorBytes, then the marker naming how many were left out.
void list_errors(std::vector<FieldError> errors, bool complete, ValidationOutcome& outcome) {
  std::stable_sort(errors.begin(), errors.end(), [](const FieldError& a, const FieldError& b) {
    return pointer_less(a.pointer, b.pointer);
  });
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<FieldError> unique;
  for (auto& error : errors) {
    if (seen.emplace(error.pointer, error.code).second) unique.push_back(std::move(error));
  }
  outcome.found = unique.size();
  outcome.complete = complete;
  std::size_t bytes = 0;
  for (auto& error : unique) {
    bytes += error.pointer.size() + error.code.size() + error.reason.size();
    if (outcome.errors.size() >= kMaxListedErrors || bytes > kMaxListedErrorBytes) break;
    outcome.errors.push_back(std::move(error));
  }
  const std::size_t left_out = outcome.found - outcome.errors.size();
  if (left_out == 0 && complete) return;
  std::string reason = std::to_string(left_out);
  if (complete) {
    reason += left_out == 1 ? " more error not listed" : " more errors not listed";
  } else {
    reason += " or more errors not listed (checking stopped after " +
              std::to_string(outcome.found) + " errors)";
  }
  outcome.errors.push_back({"", std::string(kTooManyErrorsCode), std::move(reason)});
}

}  // namespace

struct PayloadValidator::Impl {
  valijson::Schema schema;
  // valijson stops an allOf at its first failing branch. To name every error, a rejected payload is
  // validated again against variants of the schema, each with one allOf's first k branches removed
  // so that branch k runs first. Only rejected payloads pay for this.
  std::vector<std::unique_ptr<valijson::Schema>> all_of_variants;
  std::vector<SchemaNode> nodes;                                     // nodes[0] is the root
  std::optional<FastSchema> fast;  // none: the schema uses something the fast path does not model
};

PayloadValidator::PayloadValidator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PayloadValidator::PayloadValidator(PayloadValidator&&) noexcept = default;
PayloadValidator& PayloadValidator::operator=(PayloadValidator&&) noexcept = default;
PayloadValidator::~PayloadValidator() = default;

Result<PayloadValidator> PayloadValidator::compile(std::string_view schema_json) {
  json document;
  try {
    document = json::parse(schema_json);
  } catch (const json::exception& e) {
    return Error{ErrorCode::kConfig, "schema is not JSON: " + json_error_text(e)};
  }
  if (!document.is_object()) {
    return Error{ErrorCode::kConfig, "schema must be a JSON object"};
  }
  if (auto version = document.find("$schema"); version != document.end()) {
    const std::string uri = version->is_string() ? version->get<std::string>() : "";
    if (uri.find("json-schema.org/draft-07/schema") == std::string::npos) {
      return Error{ErrorCode::kConfig, "schema: only JSON Schema draft 7 is supported ($schema '" +
                                           short_dump(*version) + "')"};
    }
  }

  auto impl = std::make_unique<Impl>();
  SchemaTreeBuilder builder(document);
  builder.node_at("", document);
  std::vector<std::string> problems = builder.problems();
  json stripped = document;
  std::vector<std::string> all_ofs;
  strip_formats(stripped, "", builder, problems, all_ofs);
  if (!problems.empty()) {
    std::string detail = "schema: " + problems.front();
    for (std::size_t i = 1; i < problems.size(); ++i) detail += "; " + problems[i];
    return Error{ErrorCode::kConfig, detail};
  }
  impl->nodes = builder.take_nodes();

  try {
    auto parse = [](const json& schema, valijson::Schema& out) {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      parser.populateSchema(valijson::adapters::NlohmannJsonAdapter(schema), out);
    };
    parse(stripped, impl->schema);
    for (const auto& pointer : all_ofs) {
      const json::json_pointer location(pointer);
      for (std::size_t skip = 1; skip < stripped.at(location).size(); ++skip) {
        json variant = stripped;
        auto& branches = variant.at(location);
        branches.erase(branches.begin(), branches.begin() + static_cast<std::ptrdiff_t>(skip));
        impl->all_of_variants.push_back(std::make_unique<valijson::Schema>());
        parse(variant, *impl->all_of_variants.back());
      }
    }
  } catch (const std::exception& e) {
    return Error{ErrorCode::kConfig, std::string("schema does not compile: ") + e.what()};
  }
  impl->fast = FastSchema::compile(document);
  return PayloadValidator(std::move(impl));
}

bool PayloadValidator::accepts_fast(std::string_view payload, JsonSpans& spans) const {
  // One level below the limit: the full parser and this one need not agree on how it is counted.
  return impl_->fast && first_invalid_utf8(payload) == kNoError && spans.parse(payload, kMaxPayloadDepth - 1) &&
         impl_->fast->accepts(spans);
}

ValidationOutcome PayloadValidator::validate(std::string_view payload, nlohmann::json* parsed) {
  if (parsed == nullptr) {
    thread_local JsonSpans spans;  // keeps its vector between calls
    if (accepts_fast(payload, spans)) return {};
  }
  ValidationOutcome outcome;
  if (const std::size_t bad = first_invalid_utf8(payload); bad != kNoError) {
    outcome.code = ErrorCode::kInvalidPayload;
    outcome.errors.push_back(
        {"", "utf8", "payload is not valid UTF-8 (byte offset " + std::to_string(bad) + ")"});
    outcome.found = 1;
    return outcome;
  }

  json document;
  LimitedDomParser parser(document);
  outcome.found = 1;  // the refusals before the schema name one error
  try {
    json::sax_parse(payload, &parser);
  } catch (const PayloadLimitError& e) {
    outcome.code = ErrorCode::kInvalidPayload;
    outcome.errors.push_back(e.error);
    return outcome;
  } catch (const json::exception& e) {
    std::string reason = "payload is not valid JSON";
    if (const auto* parse_error = dynamic_cast<const json::parse_error*>(&e)) {
      const std::size_t offset = parse_error->byte > 0 ? parse_error->byte - 1 : 0;
      reason += " (byte offset " + std::to_string(offset) + ")";
    }
    outcome.code = ErrorCode::kInvalidPayload;
    outcome.errors.push_back({"", "json", reason + ": " + json_error_text(e)});
    return outcome;
  }

  outcome.found = 0;
  const std::size_t values = parser.values();
  valijson::ValidationResults results;
  bool valid = false;
  bool complete = true;
  try {
    const CountingAdapter target(document);
    // valijson's Validator caches compiled `pattern` regexes by their text and is not thread-safe:
    // one per thread, shared by every schema (the same pattern text is the same regex).
    thread_local valijson::Validator validator{valijson::Validator::kStrongTypes};
    // A first pass stops at the first failure: all a valid payload needs, and cheap for a refused
    // one. Only a refused payload pays for naming its errors, within a budget.
    valid = validator.validate(impl_->schema, target, nullptr);
    if (!valid) {
      BudgetScope budget(results, kMaxRecordedErrors, std::max(kMinVisits, kVisitsPerValue * values));
      try {
        validator.validate(impl_->schema, target, &results);
        for (const auto& variant : impl_->all_of_variants) {
          validator.validate(*variant, target, &results);
        }
      } catch (const ErrorBudgetSpent&) {
        complete = false;
      }
    }
  } catch (const std::exception& e) {
    outcome.code = ErrorCode::kSchemaViolation;
    outcome.errors.push_back({"", "schema", std::string("validator failed: ") + e.what()});
    outcome.found = 1;
    return outcome;
  }

  std::vector<FieldError> errors;
  std::optional<FieldError> innermost_wrapper;
  for (const auto& error : results) {
    std::vector<std::string> tokens;
    for (std::size_t i = 1; i < error.context.size(); ++i) {  // [0] is "<root>"
      const std::string& part = error.context[i];
      tokens.push_back(part.size() >= 2 ? part.substr(1, part.size() - 2) : part);  // "[name]"
    }
    const std::string_view code = classify(error.description);
    if (code.empty()) {
      if (!innermost_wrapper) {
        innermost_wrapper = FieldError{join_pointer(tokens), "schema", error.description};
      }
      continue;
    }
    if (code == "required" || code == "additionalProperties") {
      // Point at the property itself: that is the field a clerk has to add or remove.
      const std::string name =
          quoted_name(error.description, code == "required" ? "property '" : "constraints: '");
      tokens.push_back(name);
      errors.push_back({join_pointer(tokens), std::string(code),
                        code == "required" ? "required property '" + name + "' is missing"
                                           : "property '" + name + "' is not in the contract"});
      continue;
    }
    errors.push_back({join_pointer(tokens), std::string(code),
                      reason_for(code, error.description, impl_->nodes, document, tokens)});
  }

  if (complete) {
    InstanceWalker walker(impl_->nodes, errors, kMaxCollectedErrors);
    walker.walk(document, 0, 0);
    complete = !walker.stopped();
  }

  if (!valid && errors.empty()) {
    // valijson rejected without naming a reason (e.g. propertyNames): report where it gave up.
    errors.push_back(
        innermost_wrapper.value_or(FieldError{"", "schema", "payload does not match the schema"}));
  }
  if (errors.empty()) {
    if (parsed) *parsed = std::move(document);
    return outcome;
  }
  outcome.code = ErrorCode::kSchemaViolation;
  list_errors(std::move(errors), complete, outcome);
  return outcome;
}

std::string describe_refusal(const ValidationOutcome& outcome, std::string_view contract,
                             std::uint32_t version) {
  // The reason may quote a key of any length; the FieldError keeps it whole.
  constexpr std::size_t kMaxPointerInDetail = 200;
  constexpr std::size_t kMaxReasonInDetail = 300;
  if (outcome.ok()) return {};
  if (outcome.code == ErrorCode::kInvalidPayload && !outcome.errors.empty()) {
    // One error says it all: utf8 and json carry the byte offset, depth the limit, duplicate_key
    // the key.
    const FieldError& error = outcome.errors.front();
    std::string detail = cut_text(error.reason, kMaxReasonInDetail);
    if (!error.pointer.empty()) detail += " (at " + cut_text(error.pointer, kMaxPointerInDetail) + ")";
    return detail;
  }
  std::string detail = "payload violates " + std::string(contract) + " v" + std::to_string(version) +
                       " in " + std::to_string(outcome.found) + (outcome.complete ? "" : " or more") +
                       (outcome.found == 1 && outcome.complete ? " place" : " places");
  const bool marked = !outcome.errors.empty() && outcome.errors.back().code == kTooManyErrorsCode;
  const std::size_t listed = outcome.errors.size() - (marked ? 1 : 0);
  if (listed < outcome.found || !outcome.complete) {
    detail += " (the first " + std::to_string(listed) + " listed)";
  }
  return detail;
}

bool is_valid_utf8(std::string_view bytes) { return first_invalid_utf8(bytes) == kNoError; }

}  // namespace contracts
