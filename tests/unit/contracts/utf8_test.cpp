#include <catch2/catch.hpp>

#include <string>

#include "contracts/validator.h"

namespace {

struct Utf8Case {
  const char* name;
  std::string bytes;
};

}  // namespace

TEST_CASE("is_valid_utf8 accepts well-formed UTF-8", "[contracts][utf8]") {
  const auto sample = GENERATE(values<Utf8Case>({
      {"empty", ""},
      {"ascii", "{\"a\": 1}"},
      {"two-byte e-acute", "caf\xC3\xA9"},
      {"smallest two-byte U+0080", "\xC2\x80"},
      {"three-byte euro sign", "\xE2\x82\xAC"},
      {"smallest three-byte U+0800", "\xE0\xA0\x80"},
      {"last before surrogates U+D7FF", "\xED\x9F\xBF"},
      {"first after surrogates U+E000", "\xEE\x80\x80"},
      {"U+FFFF", "\xEF\xBF\xBF"},
      {"four-byte emoji", "\xF0\x9F\x98\x80"},
      {"largest code point U+10FFFF", "\xF4\x8F\xBF\xBF"},
      {"multibyte after eight ASCII bytes", "abcdefgh\xC3\xA9ijklmnop"},
  }));
  INFO(sample.name);
  CHECK(contracts::is_valid_utf8(sample.bytes));
}

TEST_CASE("is_valid_utf8 rejects malformed UTF-8", "[contracts][utf8]") {
  const auto sample = GENERATE(values<Utf8Case>({
      {"lone continuation byte", "\x80"},
      {"overlong slash C0 AF", "\xC0\xAF"},
      {"overlong C1", "\xC1\xBF"},
      {"overlong three-byte E0 80 AF", "\xE0\x80\xAF"},
      {"overlong four-byte F0 80 80 AF", "\xF0\x80\x80\xAF"},
      {"high surrogate U+D800", "\xED\xA0\x80"},
      {"low surrogate U+DFFF", "\xED\xBF\xBF"},
      {"above U+10FFFF (F4 90)", "\xF4\x90\x80\x80"},
      {"F5 lead byte", "\xF5\x80\x80\x80"},
      {"FF byte", "\xFF"},
      {"truncated two-byte at end", "abc\xC3"},
      {"truncated three-byte at end", "\xE2\x82"},
      {"truncated four-byte at end", "\xF0\x9F\x98"},
      {"lead byte followed by ASCII",
       "\xC3"
       "a"},
      {"bad third byte",
       "\xE2\x82"
       "a"},
      {"bad fourth byte",
       "\xF0\x9F\x98"
       "a"},
  }));
  INFO(sample.name);
  CHECK_FALSE(contracts::is_valid_utf8(sample.bytes));
}

TEST_CASE("validate reports invalid UTF-8 with the byte offset of the bad sequence",
          "[contracts][utf8]") {
  auto validator = contracts::PayloadValidator::compile(R"({"type": "object"})");
  REQUIRE(validator);
  const std::string payload = "{\"name\": \"caf\xC3\xA9 \xED\xA0\x80\"}";  // surrogate at offset 16
  const auto outcome = validator->validate(payload);
  CHECK(outcome.code == contracts::ErrorCode::kInvalidPayload);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].pointer == "");
  CHECK(outcome.errors[0].code == "utf8");
  CHECK(outcome.errors[0].reason == "payload is not valid UTF-8 (byte offset 16)");
}
