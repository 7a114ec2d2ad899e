#pragma once
// JsonSpans: a payload's JSON as a flat list of values that point into its text, for the intake's
// fast path (fast_schema.h). One pass, one vector, no value copied: a 1 KiB payload parses in
// about a microsecond, where a DOM of maps and strings costs several.
//
// It parses a strict subset of what the validator's full parser (nlohmann, with the payload limits
// of validator.h) accepts, and says "no" for everything else. "No" never means "invalid": it means
// "ask the full parser", which then accepts or names the error. So the subset may only leave
// things out: a text parse() accepts is one the full parser accepts with the same values. Left
// out: numbers whose type the full parser decides by range (integers of more than 18 digits) and
// "-0"; \u escapes of surrogates; nesting deeper than the limit; duplicate keys.
//
// The text must be well-formed UTF-8 (is_valid_utf8, validator.h): parse() does not check it again.
// Pure and thread-safe; a JsonSpans refers to the text it was parsed from, which must outlive it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace contracts {

struct JsonValue {
  enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kInteger, kFloat, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool escaped = false;     // a string value with a backslash escape (decode it to read it)
  std::uint32_t begin = 0;  // the value's text: a string's bytes between its quotes
  std::uint32_t end = 0;
  std::uint32_t key_begin = 0;  // for an object's member: its key's bytes between the quotes
  std::uint32_t key_end = 0;
  std::uint32_t count = 0;         // arrays and objects: how many children
  std::uint32_t first_child = 0;   // index of the first child (when count > 0)
  std::uint32_t next_sibling = 0;  // index of the next child of the same parent; 0: the last
};

class JsonSpans {
 public:
  // The values of `text` in document order (values()[0] is the root), or false when `text` is not
  // in the subset (see above), with nesting of arrays and objects at most `max_depth`.
  [[nodiscard]] bool parse(std::string_view text, int max_depth);

  [[nodiscard]] const std::vector<JsonValue>& values() const { return values_; }
  [[nodiscard]] const JsonValue& at(std::uint32_t index) const { return values_[index]; }
  [[nodiscard]] std::string_view text() const { return text_; }

  // A string value's bytes (raw, escapes as written) and decoded. A key's bytes are its value:
  // keys written with an escape are not in the subset.
  [[nodiscard]] std::string_view raw(const JsonValue& v) const { return text_.substr(v.begin, v.end - v.begin); }
  [[nodiscard]] std::string_view raw_key(const JsonValue& v) const {
    return text_.substr(v.key_begin, v.key_end - v.key_begin);
  }
  [[nodiscard]] std::string string_of(const JsonValue& v) const;

 private:
  std::string_view text_;
  std::vector<JsonValue> values_;
};

// The bytes between a string's quotes, decoded (escapes already checked by parse()).
std::string decode_json_string(std::string_view raw);

// Writes `spans` as nlohmann::json::dump() would after parsing the same text (members sorted by
// key, no whitespace, strings escaped as nlohmann does), leaving out the values whose index is in
// `skip` (sorted). False, with `out` unspecified, when that output cannot be written byte for byte
// (a float, whose digits nlohmann prints its own way).
[[nodiscard]] bool write_canonical(const JsonSpans& spans, const std::vector<std::uint32_t>& skip, std::string& out);

}  // namespace contracts
