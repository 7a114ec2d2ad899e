#include "contracts/json_spans.h"
#include "contracts/json_text.h"

#include <algorithm>
#include <charconv>
#include <system_error>

namespace contracts {
namespace {

constexpr int kMaxIntegerDigits = 18;  // below 2^63 whatever the digits: an int64 for the full parser too

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<JsonValue>& out, int max_depth)
      : text_(text), out_(out), max_depth_(max_depth) {}

  bool document() {
    skip_space();
    if (!value(0)) return false;
    skip_space();
    return at_ == text_.size();
  }

 private:
  void skip_space() {
    while (at_ < text_.size() && is_space(text_[at_])) ++at_;
  }

  bool literal(std::string_view word, JsonValue::Kind kind, std::uint32_t index) {
    if (text_.compare(at_, word.size(), word) != 0) return false;
    out_[index].kind = kind;
    out_[index].begin = static_cast<std::uint32_t>(at_);
    at_ += word.size();
    out_[index].end = static_cast<std::uint32_t>(at_);
    return true;
  }

  // A string's body from after its opening quote; leaves at_ after the closing quote.
  bool string_body(std::uint32_t& begin, std::uint32_t& end, bool& escaped) {
    begin = static_cast<std::uint32_t>(at_);
    escaped = false;
    while (at_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        end = static_cast<std::uint32_t>(at_++);
        return true;
      }
      if (c < 0x20) return false;  // control characters must be escaped
      if (c != '\\') {
        ++at_;
        continue;
      }
      escaped = true;
      if (++at_ >= text_.size()) return false;
      const char e = text_[at_++];
      if (e == 'u') {
        if (text_.size() - at_ < 4) return false;
        unsigned code = 0;
        for (int k = 0; k < 4; ++k) {
          const int h = hex_value(text_[at_++]);
          if (h < 0) return false;
          code = code * 16 + static_cast<unsigned>(h);
        }
        if (code >= 0xD800 && code <= 0xDFFF) return false;  // surrogates: left to the full parser
      } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
        return false;
      }
    }
    return false;
  }

  bool number(std::uint32_t index) {
    const std::size_t start = at_;
    if (text_[at_] == '-') ++at_;
    const std::size_t digits_start = at_;
    if (at_ >= text_.size()) return false;
    if (text_[at_] == '0') {
      ++at_;
    } else if (text_[at_] >= '1' && text_[at_] <= '9') {
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
    } else {
      return false;
    }
    const std::size_t digits = at_ - digits_start;
    bool is_float = false;
    if (at_ < text_.size() && text_[at_] == '.') {
      is_float = true;
      const std::size_t fraction = ++at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      if (at_ == fraction) return false;
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      is_float = true;
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      const std::size_t exponent = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      if (at_ == exponent) return false;
    }
    if (!is_float && (digits > kMaxIntegerDigits || text_.substr(start, at_ - start) == "-0")) return false;
    if (is_float) {  // the full parser refuses a number no double holds (1e400); 1e-400 is left to it too
      double value = 0;
      const auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + at_, value);
      if (ec != std::errc() || end != text_.data() + at_) return false;
    }
    out_[index].kind = is_float ? JsonValue::Kind::kFloat : JsonValue::Kind::kInteger;
    out_[index].begin = static_cast<std::uint32_t>(start);
    out_[index].end = static_cast<std::uint32_t>(at_);
    return true;
  }

  // Links `child` after `last` (or as the first child of `parent`).
  void link(std::uint32_t parent, std::uint32_t& last, std::uint32_t child) {
    if (out_[parent].count++ == 0) {
      out_[parent].first_child = child;
    } else {
      out_[last].next_sibling = child;
    }
    last = child;
  }

  bool container(std::uint32_t index, int depth, bool object) {
    if (depth + 1 > max_depth_) return false;
    out_[index].kind = object ? JsonValue::Kind::kObject : JsonValue::Kind::kArray;
    out_[index].begin = static_cast<std::uint32_t>(at_++);
    const char close = object ? '}' : ']';
    skip_space();
    std::uint32_t last = 0;
    if (at_ < text_.size() && text_[at_] == close) {
      out_[index].end = static_cast<std::uint32_t>(++at_);
      return true;
    }
    for (;;) {
      std::uint32_t key_begin = 0, key_end = 0;
      bool key_escaped = false;
      if (object) {
        if (at_ >= text_.size() || text_[at_] != '"') return false;
        ++at_;
        if (!string_body(key_begin, key_end, key_escaped) || key_escaped) return false;  // escaped keys: full parser
        skip_space();
        if (at_ >= text_.size() || text_[at_] != ':') return false;
        ++at_;
        skip_space();
      }
      const auto child = static_cast<std::uint32_t>(out_.size());
      out_.emplace_back();
      out_[child].key_begin = key_begin;
      out_[child].key_end = key_end;
      if (!value(depth + 1)) return false;
      link(index, last, child);
      skip_space();
      if (at_ >= text_.size()) return false;
      if (text_[at_] == ',') {
        ++at_;
        skip_space();
        continue;
      }
      if (text_[at_] != close) return false;
      out_[index].end = static_cast<std::uint32_t>(++at_);
      return !object || unique_keys(index);
    }
  }

  // The full parser refuses an object that names a key twice; so does this one.
  bool unique_keys(std::uint32_t index) const {
    const JsonValue& object = out_[index];
    keys_.clear();
    for (std::uint32_t c = object.first_child, k = 0; k < object.count; c = out_[c].next_sibling, ++k) {
      keys_.push_back(text_.substr(out_[c].key_begin, out_[c].key_end - out_[c].key_begin));
    }
    std::sort(keys_.begin(), keys_.end());
    return std::adjacent_find(keys_.begin(), keys_.end()) == keys_.end();
  }

  bool value(int depth) {
    const auto index = static_cast<std::uint32_t>(out_.size() - 1);
    if (at_ >= text_.size()) return false;
    switch (text_[at_]) {
      case '{': return container(index, depth, true);
      case '[': return container(index, depth, false);
      case '"': {
        ++at_;
        out_[index].kind = JsonValue::Kind::kString;
        std::uint32_t begin = 0, end = 0;
        bool escaped = false;
        if (!string_body(begin, end, escaped)) return false;
        out_[index].begin = begin;
        out_[index].end = end;
        out_[index].escaped = escaped;
        return true;
      }
      case 't': return literal("true", JsonValue::Kind::kTrue, index);
      case 'f': return literal("false", JsonValue::Kind::kFalse, index);
      case 'n': return literal("null", JsonValue::Kind::kNull, index);
      default: return number(index);
    }
  }

  std::string_view text_;
  std::vector<JsonValue>& out_;
  const int max_depth_;
  std::size_t at_ = 0;
  mutable std::vector<std::string_view> keys_;
};

bool write_value(const JsonSpans& spans, std::uint32_t index, const std::vector<std::uint32_t>& skip,
                 std::string& out) {
  const JsonValue& v = spans.at(index);
  switch (v.kind) {
    case JsonValue::Kind::kNull: out += "null"; return true;
    case JsonValue::Kind::kFalse: out += "false"; return true;
    case JsonValue::Kind::kTrue: out += "true"; return true;
    case JsonValue::Kind::kInteger: out += spans.text().substr(v.begin, v.end - v.begin); return true;
    case JsonValue::Kind::kFloat: return false;
    case JsonValue::Kind::kString:
      if (v.escaped) {
        append_json_string(out, spans.string_of(v));
      } else {  // nothing in it needs escaping: no quote, backslash or control character
        out += '"';
        out += spans.raw(v);
        out += '"';
      }
      return true;
    case JsonValue::Kind::kArray: {
      out += '[';
      bool first = true;
      for (std::uint32_t c = v.first_child, k = 0; k < v.count; c = spans.at(c).next_sibling, ++k) {
        if (std::binary_search(skip.begin(), skip.end(), c)) continue;
        if (!first) out += ',';
        first = false;
        if (!write_value(spans, c, skip, out)) return false;
      }
      out += ']';
      return true;
    }
    case JsonValue::Kind::kObject: {
      std::vector<std::uint32_t> members;
      members.reserve(v.count);
      for (std::uint32_t c = v.first_child, k = 0; k < v.count; c = spans.at(c).next_sibling, ++k) {
        if (!std::binary_search(skip.begin(), skip.end(), c)) members.push_back(c);
      }
      // std::map<std::string> order: bytes compared as unsigned char, as string_view compares them.
      std::sort(members.begin(), members.end(), [&](std::uint32_t a, std::uint32_t b) {
        return spans.raw_key(spans.at(a)) < spans.raw_key(spans.at(b));
      });
      out += '{';
      bool first = true;
      for (const auto c : members) {
        if (!first) out += ',';
        first = false;
        out += '"';
        out += spans.raw_key(spans.at(c));  // keys with escapes are not in the subset
        out += "\":";
        if (!write_value(spans, c, skip, out)) return false;
      }
      out += '}';
      return true;
    }
  }
  return false;
}

}  // namespace

bool JsonSpans::parse(std::string_view text, int max_depth) {
  text_ = text;
  values_.clear();
  values_.reserve(64);
  values_.emplace_back();
  Parser parser(text, values_, max_depth);
  return parser.document();
}

std::string decode_json_string(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned code = 0;
        for (int k = 0; k < 4; ++k) code = code * 16 + static_cast<unsigned>(hex_value(raw[++i]));
        append_utf8(out, code);
        break;
      }
      default: out += e;  // '"', '\\', '/'
    }
  }
  return out;
}

std::string JsonSpans::string_of(const JsonValue& v) const {
  return v.escaped ? decode_json_string(raw(v)) : std::string(raw(v));
}

bool write_canonical(const JsonSpans& spans, const std::vector<std::uint32_t>& skip, std::string& out) {
  out.clear();
  out.reserve(spans.text().size());
  return !spans.values().empty() && write_value(spans, 0, skip, out);
}

}  // namespace contracts
