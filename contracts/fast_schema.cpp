#include "contracts/fast_schema.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "contracts/formats.h"

namespace contracts {
namespace {

using json = nlohmann::json;
using Kind = JsonValue::Kind;

// Type bits; 0 in Node::types means any type.
constexpr std::uint8_t kNull = 1, kBoolean = 2, kInteger = 4, kNumber = 8, kString = 16, kArray = 32, kObject = 64;

constexpr int kMaxSteps =
    64;  // checks on one path from the root (its depth plus $ref/allOf/anyOf/if hops): past it, not sure

// One value of an enum or const: JSON equality is modelled for these kinds only, whose text says
// their value (an integer's digits are canonical in the subset JsonSpans parses).
struct Literal {
  Kind kind = Kind::kNull;  // kNull, kFalse, kTrue, kInteger or kString
  std::string text;         // an integer's digits, a string's decoded bytes
  bool operator==(const Literal& other) const { return kind == other.kind && text == other.text; }
};

std::optional<Literal> literal_of(const json& value) {
  if (value.is_null()) return Literal{Kind::kNull, {}};
  if (value.is_boolean()) return Literal{value.get<bool>() ? Kind::kTrue : Kind::kFalse, {}};
  if (value.is_number_integer()) return Literal{Kind::kInteger, value.dump()};
  if (value.is_string()) return Literal{Kind::kString, value.get<std::string>()};
  return std::nullopt;  // floats, arrays, objects: not modelled
}

struct Node {
  bool never = false;  // the schema `false`
  std::uint8_t types = 0;
  std::vector<std::vector<Literal>> allowed;  // each enum (and const): the value must be in every list
  // strings
  int regex = -1;
  Format format = Format::kUnchecked;
  std::optional<std::uint64_t> min_length, max_length;
  // numbers
  std::optional<double> minimum, maximum;
  // objects
  std::vector<std::pair<std::string, int>> properties;  // sorted by name
  std::vector<std::string> required;
  bool closed = false;  // additionalProperties: false
  int additional = -1;  // additionalProperties: {schema}
  // arrays
  int items = -1;
  std::optional<std::uint64_t> min_items, max_items;
  bool unique_items = false;
  // combinations
  int ref = -1;  // draft 7: a $ref replaces the rest of its schema
  std::vector<int> all_of, any_of;
  int if_ = -1, then_ = -1, else_ = -1;
};

std::uint8_t type_bit(const std::string& name) {
  if (name == "null") return kNull;
  if (name == "boolean") return kBoolean;
  if (name == "integer") return kInteger;
  if (name == "number") return kNumber;
  if (name == "string") return kString;
  if (name == "array") return kArray;
  if (name == "object") return kObject;
  return 0;
}

bool is_annotation(const std::string& key) {
  static const char* const kNames[] = {"description", "title", "examples", "default",   "$comment", "$schema",
                                       "definitions", "$defs", "readOnly", "writeOnly", "$id"};
  for (const char* name : kNames) {
    if (key == name) return true;
  }
  return key.rfind("x-", 0) == 0;
}

std::optional<std::uint64_t> count_of(const json& value) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
    return std::nullopt;
  return value.get<std::uint64_t>();
}

class Compiler {
 public:
  explicit Compiler(const json& root) : root_(root) {}

  // Index of the node for the schema at `pointer`; -1 when something there is not modelled.
  int node_at(const std::string& pointer, const json& schema) {
    if (auto it = by_pointer_.find(pointer); it != by_pointer_.end()) return it->second;
    const int index = static_cast<int>(nodes_.size());
    nodes_.emplace_back();
    by_pointer_.emplace(pointer, index);
    Node node;  // filled locally: recursion grows nodes_ and moves its elements
    if (!fill(pointer, schema, node)) failed_ = true;
    nodes_[static_cast<std::size_t>(index)] = std::move(node);
    return index;
  }

  bool failed() const { return failed_; }
  std::vector<Node> take_nodes() { return std::move(nodes_); }
  std::vector<std::regex> take_regexes() { return std::move(regexes_); }

 private:
  bool fill(const std::string& pointer, const json& schema, Node& node) {
    if (schema.is_boolean()) {
      node.never = !schema.get<bool>();
      return true;
    }
    if (!schema.is_object()) return false;
    if (auto ref = schema.find("$ref"); ref != schema.end()) {
      if (!ref->is_string()) return false;
      node.ref = resolve(ref->get<std::string>());
      return node.ref >= 0;
    }
    if (schema.contains("$id") && !pointer.empty()) return false;  // a new base URI: not modelled
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      const std::string& key = it.key();
      const json& value = it.value();
      if (is_annotation(key)) continue;
      if (key == "type") {
        if (value.is_string()) {
          node.types = type_bit(value.get<std::string>());
          if (node.types == 0) return false;
        } else if (value.is_array() && !value.empty()) {
          for (const auto& name : value) {
            if (!name.is_string() || type_bit(name.get<std::string>()) == 0) return false;
            node.types |= type_bit(name.get<std::string>());
          }
        } else {
          return false;
        }
      } else if (key == "enum" || key == "const") {
        const json list = key == "const" ? json::array({value}) : value;
        if (!list.is_array() || list.empty()) return false;
        std::vector<Literal> values;
        for (const auto& v : list) {
          auto literal = literal_of(v);
          if (!literal) return false;
          values.push_back(std::move(*literal));
        }
        node.allowed.push_back(std::move(values));
      } else if (key == "pattern") {
        if (!value.is_string()) return false;
        try {
          regexes_.emplace_back(value.get<std::string>());  // as valijson builds it: ECMAScript
        } catch (const std::regex_error&) {
          return false;
        }
        node.regex = static_cast<int>(regexes_.size() - 1);
      } else if (key == "format") {
        if (!value.is_string()) return false;
        node.format = format_from_name(value.get<std::string>());
      } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
        auto n = count_of(value);
        if (!n) return false;
        (key == "minLength"   ? node.min_length
         : key == "maxLength" ? node.max_length
         : key == "minItems"  ? node.min_items
                              : node.max_items) = *n;
      } else if (key == "minimum" || key == "maximum") {
        if (!value.is_number()) return false;
        (key == "minimum" ? node.minimum : node.maximum) = value.get<double>();
      } else if (key == "properties") {
        if (!value.is_object()) return false;
        for (auto p = value.begin(); p != value.end(); ++p) {
          const int child = node_at(pointer + "/properties/" + p.key(), p.value());
          node.properties.emplace_back(p.key(), child);
        }
        std::sort(node.properties.begin(), node.properties.end());
      } else if (key == "required") {
        if (!value.is_array()) return false;
        for (const auto& name : value) {
          if (!name.is_string()) return false;
          node.required.push_back(name.get<std::string>());
        }
      } else if (key == "additionalProperties") {
        if (value.is_boolean()) {
          node.closed = !value.get<bool>();
        } else {
          node.additional = node_at(pointer + "/additionalProperties", value);
        }
      } else if (key == "items") {
        if (!value.is_object() && !value.is_boolean()) return false;  // tuples: not modelled
        node.items = node_at(pointer + "/items", value);
      } else if (key == "uniqueItems") {
        if (!value.is_boolean()) return false;
        node.unique_items = value.get<bool>();
      } else if (key == "allOf" || key == "anyOf") {
        if (!value.is_array() || value.empty()) return false;
        auto& list = key == "allOf" ? node.all_of : node.any_of;
        for (std::size_t i = 0; i < value.size(); ++i) {
          list.push_back(node_at(pointer + "/" + key + "/" + std::to_string(i), value[i]));
        }
      } else if (key == "if" || key == "then" || key == "else") {
        (key == "if" ? node.if_ : key == "then" ? node.then_ : node.else_) = node_at(pointer + "/" + key, value);
      } else {
        return false;  // not modelled: the full validator checks this contract
      }
    }
    return true;
  }

  // "#", "#/definitions/x", "#/$defs/x" (no percent-escapes, no ~ escapes): anything else is
  // left to the full validator.
  int resolve(const std::string& ref) {
    if (ref.empty() || ref[0] != '#' || ref.find_first_of("%~") != std::string::npos) return -1;
    const std::string target = ref.substr(1);
    try {
      const json::json_pointer pointer(target);
      if (!root_.contains(pointer)) return -1;
      return node_at(target, root_.at(pointer));
    } catch (const json::exception&) {
      return -1;
    }
  }

  const json& root_;
  std::vector<Node> nodes_;
  std::vector<std::regex> regexes_;
  std::map<std::string, int> by_pointer_;
  bool failed_ = false;
};

std::uint64_t code_points(std::string_view s) {
  std::uint64_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

}  // namespace

struct FastSchema::Impl {
  std::vector<Node> nodes;  // nodes[0] is the root
  std::vector<std::regex> regexes;

  bool check(const JsonSpans& spans, std::uint32_t at, int node_index, int steps) const;
  bool check_string(const JsonSpans& spans, const JsonValue& v, const Node& node) const;
  bool check_number(const JsonSpans& spans, const JsonValue& v, const Node& node) const;
  bool check_object(const JsonSpans& spans, const JsonValue& v, const Node& node, int steps) const;
  bool check_array(const JsonSpans& spans, const JsonValue& v, const Node& node, int steps) const;
};

bool FastSchema::Impl::check(const JsonSpans& spans, std::uint32_t at, int node_index, int steps) const {
  if (node_index < 0 || ++steps > kMaxSteps) return false;
  const Node& node = nodes[static_cast<std::size_t>(node_index)];
  if (node.never) return false;
  if (node.ref >= 0) return check(spans, at, node.ref, steps);
  const JsonValue& v = spans.at(at);
  if (node.types != 0) {
    std::uint8_t bit = 0;
    switch (v.kind) {
      case Kind::kNull: bit = kNull; break;
      case Kind::kFalse:
      case Kind::kTrue: bit = kBoolean; break;
      case Kind::kInteger: bit = kInteger | kNumber; break;
      case Kind::kFloat: bit = kNumber; break;
      case Kind::kString: bit = kString; break;
      case Kind::kArray: bit = kArray; break;
      case Kind::kObject: bit = kObject; break;
    }
    if ((node.types & bit) == 0) return false;
  }
  if (!node.allowed.empty()) {
    Literal instance{v.kind, {}};
    if (v.kind == Kind::kInteger) {
      instance.text = std::string(spans.raw(v));
    } else if (v.kind == Kind::kString) {
      instance.text = spans.string_of(v);
    } else if (v.kind != Kind::kNull && v.kind != Kind::kFalse && v.kind != Kind::kTrue) {
      return false;  // a float, an array or an object is in no list of literals
    }
    for (const auto& list : node.allowed) {
      if (std::find(list.begin(), list.end(), instance) == list.end()) return false;
    }
  }
  switch (v.kind) {
    case Kind::kString:
      if (!check_string(spans, v, node)) return false;
      break;
    case Kind::kInteger:
    case Kind::kFloat:
      if (!check_number(spans, v, node)) return false;
      break;
    case Kind::kObject:
      if (!check_object(spans, v, node, steps)) return false;
      break;
    case Kind::kArray:
      if (!check_array(spans, v, node, steps)) return false;
      break;
    default: break;
  }
  for (const int branch : node.all_of) {
    if (!check(spans, at, branch, steps)) return false;
  }
  if (!node.any_of.empty() && std::none_of(node.any_of.begin(), node.any_of.end(),
                                           [&](int branch) { return check(spans, at, branch, steps); })) {
    return false;
  }
  if (node.if_ >= 0) {
    const int next = check(spans, at, node.if_, steps) ? node.then_ : node.else_;
    if (next >= 0 && !check(spans, at, next, steps)) return false;
  }
  return true;
}

bool FastSchema::Impl::check_string(const JsonSpans& spans, const JsonValue& v, const Node& node) const {
  const bool constrained = node.regex >= 0 || node.format != Format::kUnchecked || node.min_length || node.max_length;
  if (!constrained) return true;
  std::string decoded;
  std::string_view text = spans.raw(v);
  if (v.escaped) {
    decoded = decode_json_string(text);
    text = decoded;
    // valijson measures a length up to the first NUL: not modelled.
    if ((node.min_length || node.max_length) && text.find('\0') != std::string_view::npos) return false;
  }
  if (node.min_length || node.max_length) {
    const std::uint64_t n = code_points(text);
    if ((node.min_length && n < *node.min_length) || (node.max_length && n > *node.max_length)) return false;
  }
  if (node.format != Format::kUnchecked && !matches_format(node.format, text)) return false;
  if (node.regex >= 0 && !std::regex_search(text.begin(), text.end(), regexes[static_cast<std::size_t>(node.regex)])) {
    return false;
  }
  return true;
}

bool FastSchema::Impl::check_number(const JsonSpans& spans, const JsonValue& v, const Node& node) const {
  if (!node.minimum && !node.maximum) return true;
  const std::string_view text = spans.raw(v);
  double value = 0;
  if (v.kind == Kind::kInteger) {
    std::int64_t n = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), n).ec != std::errc()) return false;
    if (n > (std::int64_t{1} << 53) || n < -(std::int64_t{1} << 53)) return false;  // exact as a double only below
    value = static_cast<double>(n);
  } else if (std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc() ||
             !std::isfinite(value)) {
    return false;
  }
  return !(node.minimum && value < *node.minimum) && !(node.maximum && value > *node.maximum);
}

bool FastSchema::Impl::check_object(const JsonSpans& spans, const JsonValue& v, const Node& node, int steps) const {
  for (const auto& name : node.required) {
    bool present = false;
    for (std::uint32_t c = v.first_child, k = 0; k < v.count && !present; c = spans.at(c).next_sibling, ++k) {
      present = spans.raw_key(spans.at(c)) == name;
    }
    if (!present) return false;
  }
  for (std::uint32_t c = v.first_child, k = 0; k < v.count; c = spans.at(c).next_sibling, ++k) {
    const std::string_view key = spans.raw_key(spans.at(c));
    const auto it = std::lower_bound(node.properties.begin(), node.properties.end(), key,
                                     [](const auto& p, std::string_view k2) { return p.first < k2; });
    if (it != node.properties.end() && it->first == key) {
      if (!check(spans, c, it->second, steps)) return false;
    } else if (node.closed) {
      return false;
    } else if (node.additional >= 0 && !check(spans, c, node.additional, steps)) {
      return false;
    }
  }
  return true;
}

bool FastSchema::Impl::check_array(const JsonSpans& spans, const JsonValue& v, const Node& node, int steps) const {
  if ((node.min_items && v.count < *node.min_items) || (node.max_items && v.count > *node.max_items)) return false;
  std::vector<std::string_view> seen;
  if (node.unique_items) seen.reserve(v.count);
  for (std::uint32_t c = v.first_child, k = 0; k < v.count; c = spans.at(c).next_sibling, ++k) {
    if (node.items >= 0 && !check(spans, c, node.items, steps)) return false;
    if (node.unique_items) {
      // Modelled for strings without escapes and integers, whose text is their value.
      const JsonValue& item = spans.at(c);
      if ((item.kind != Kind::kString || item.escaped) && item.kind != Kind::kInteger) return false;
      if (item.kind != spans.at(v.first_child).kind) return false;
      seen.push_back(spans.raw(item));
    }
  }
  if (node.unique_items) {
    std::sort(seen.begin(), seen.end());
    if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) return false;
  }
  return true;
}

FastSchema::FastSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FastSchema::FastSchema(FastSchema&&) noexcept = default;
FastSchema& FastSchema::operator=(FastSchema&&) noexcept = default;
FastSchema::~FastSchema() = default;

std::optional<FastSchema> FastSchema::compile(const json& schema) {
  Compiler compiler(schema);
  compiler.node_at("", schema);
  if (compiler.failed()) return std::nullopt;
  auto impl = std::make_unique<Impl>();
  impl->nodes = compiler.take_nodes();
  impl->regexes = compiler.take_regexes();
  return FastSchema(std::move(impl));
}

bool FastSchema::accepts(const JsonSpans& spans) const {
  return !spans.values().empty() && impl_->check(spans, 0, 0, 0);
}

}  // namespace contracts
