// JsonSpans (contracts/json_spans.h): what it parses the full parser (nlohmann) parses too, to the
// same values, and write_canonical() writes what nlohmann's dump() writes, byte for byte.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

#include "contracts/json_spans.h"
#include "contracts/validator.h"

using contracts::JsonSpans;
using nlohmann::json;

namespace {

// The full parser's reading of `text`, or discarded.
json full(const std::string& text) { return json::parse(text, nullptr, false); }

// parse() accepted: the full parser must too, and the canonical text must be nlohmann's.
void check_agrees(const std::string& text) {
  JsonSpans spans;
  if (!contracts::is_valid_utf8(text) || !spans.parse(text, 31)) return;  // the validator checks UTF-8 first
  INFO(text);
  const json doc = full(text);
  REQUIRE_FALSE(doc.is_discarded());
  std::string canonical;
  if (write_canonical(spans, {}, canonical))
    CHECK(canonical == doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

// A random JSON text with the characters that make parsers disagree: escapes, non-ASCII, numbers
// of every shape, nesting, white space.
std::string random_json(std::mt19937& random, int depth) {
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  static const char* const kStrings[] = {"\"a\"",   "\"\"",         "\"\\n\\t\\\"\\\\\\/\"", "\"\\u00e9\\u0041\"",
                                         "\"é€😀\"", "\"\\u0000x\"", "\"\\u001f\"",           "\"~/\""};
  static const char* const kNumbers[] = {"0", "-1", "123456789012345678", "1.5", "-0.0", "1e3", "2E-2", "10"};
  static const char* const kSpace[] = {"", " ", "\n", "\t ", "\r\n"};
  const int kind = depth > 3 ? pick(4) : pick(6);
  std::string s = kSpace[pick(5)];
  switch (kind) {
    case 0: s += kStrings[pick(8)]; break;
    case 1: s += kNumbers[pick(8)]; break;
    case 2: s += pick(3) == 0 ? "null" : pick(2) ? "true" : "false"; break;
    case 3: s += kStrings[pick(8)]; break;
    case 4: {
      s += "[";
      const int n = pick(4);
      for (int i = 0; i < n; ++i) s += (i ? "," : "") + random_json(random, depth + 1);
      s += "]";
      break;
    }
    default: {
      s += "{";
      const int n = pick(4);
      static const char* const kKeys[] = {"\"k\"", "\"b\"", "\"a\"", "\"é\"", "\"B\"", "\"k2\"", "\"~1\""};
      for (int i = 0; i < n; ++i)
        s += std::string(i ? "," : "") + kKeys[pick(7)] + ":" + random_json(random, depth + 1);
      s += "}";
    }
  }
  return s + kSpace[pick(5)];
}

}  // namespace

TEST_CASE("spans refuse what the full parser refuses, and what it reads differently", "[contracts][spans]") {
  JsonSpans spans;
  for (const char* text : {"",
                           " ",
                           "{",
                           "[1,]",
                           "{\"a\":1,}",
                           "01",
                           "1.",
                           ".5",
                           "-",
                           "1e",
                           "+1",
                           "tru",
                           "nul",
                           "\"a",
                           "\"\\x\"",
                           "\"\\u12\"",
                           "\"a\tb\"",
                           "{\"a\" 1}",
                           "[1 2]",
                           "1 2",
                           "{} x",
                           "\xef\xbb\xbf{}",      // a byte order mark: the full parser's business
                           "\"\\ud83d\\ude00\"",  // surrogates: left to the full parser
                           "-0",
                           "1234567890123456789",  // read by range by the full parser
                           "{\"a\":1,\"a\":2}",    // a key twice: refused by the full parser
                           "{\"a\\u0062\":1}"}) {  // escaped keys: left to the full parser
    INFO(text);
    CHECK_FALSE(spans.parse(text, 31));
  }
  CHECK(spans.parse(std::string(31, '[') + std::string(31, ']'), 31));
  CHECK_FALSE(spans.parse(std::string(32, '[') + std::string(32, ']'), 31));
}

TEST_CASE("spans read values where the full parser reads them", "[contracts][spans]") {
  JsonSpans spans;
  REQUIRE(spans.parse(R"( {"b": [1, -2.5e3, "x\n\u00e9"], "a": {"c": null, "d": true}} )", 31));
  const auto& root = spans.at(0);
  REQUIRE(root.kind == contracts::JsonValue::Kind::kObject);
  REQUIRE(root.count == 2);
  const auto& b = spans.at(root.first_child);
  CHECK(spans.raw_key(b) == "b");
  REQUIRE(b.count == 3);
  const auto& one = spans.at(b.first_child);
  CHECK(one.kind == contracts::JsonValue::Kind::kInteger);
  const auto& two = spans.at(one.next_sibling);
  CHECK(two.kind == contracts::JsonValue::Kind::kFloat);
  CHECK(spans.raw(two) == "-2.5e3");
  const auto& three = spans.at(two.next_sibling);
  CHECK(three.escaped);
  CHECK(spans.string_of(three) == "x\n\xc3\xa9");
  const auto& a = spans.at(b.next_sibling);
  CHECK(spans.raw_key(a) == "a");
  CHECK(a.next_sibling == 0);
}

TEST_CASE("the canonical text is nlohmann's dump byte for byte, and leaves out what it is told to",
          "[contracts][spans]") {
  for (const char* text : {R"({"b":1,"a":[true,false,null,"\u0001\u001f\"\\\/\b\f\n\r\t"],"B":{"é":"€","e":"x"}})",
                           R"([])", R"({})", R"("just a string")", R"(-123)", R"({"z":{"y":{"x":[[],[{}]]}}})"}) {
    check_agrees(text);
  }
  JsonSpans spans;
  REQUIRE(spans.parse(R"({"keep": 1, "drop": {"deep": 2}, "list": [10, 20, 30]})", 31));
  // Indexes in document order: 0 root, 1 keep, 2 drop, 3 deep, 4 list, 5..7 its items.
  std::string out;
  REQUIRE(write_canonical(spans, {2, 6}, out));
  CHECK(out == R"({"keep":1,"list":[10,30]})");
  REQUIRE(spans.parse(R"({"a": 1.5})", 31));
  CHECK_FALSE(write_canonical(spans, {}, out));  // nlohmann prints floats its own way
}

TEST_CASE("random JSON texts and their mutations: spans never accept what the full parser refuses",
          "[contracts][spans]") {
  std::mt19937 random(7);
  const std::string bytes = "\"\\{}[],:0123456789.-+eE tu\x01\xc3";
  std::size_t parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = random_json(random, 0);
    check_agrees(text);
    JsonSpans spans;
    parsed += spans.parse(text, 31) ? 1 : 0;
    for (int m = 0; m < 5 && !text.empty(); ++m) {
      std::string t = text;
      const std::size_t at = random() % t.size();
      if (m % 2) {
        t[at] = bytes[random() % bytes.size()];
      } else {
        t.erase(at, 1);
      }
      check_agrees(t);
    }
  }
  CHECK(parsed > 1000);  // most generated texts are in the subset: the comparison is about something
}
