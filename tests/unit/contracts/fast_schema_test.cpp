// The intake's fast path (contracts/fast_schema.h, json_spans.h) against the full validator, on
// every contract of the migration chain and the bench: the fast path is used for their valid
// samples, and it accepts nothing the full validator refuses, over the samples and thousands of
// payloads altered from them (a member dropped, a value replaced by one of another kind, a key
// added or repeated, a byte changed).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "contracts/fast_schema.h"
#include "contracts/json_spans.h"
#include "contracts/registry.h"
#include "contracts/validator.h"
#include "tests/support/file_bytes.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The full validator's verdict: validate() with a document asked for never takes the fast path.
bool full_accepts(contracts::PayloadValidator& validator, const std::string& payload) {
  json document;
  return validator.validate(payload, &document).ok();
}

// Every value's pointer in `doc`, the root's ("") first.
void pointers_of(const json& doc, const std::string& at, std::vector<std::string>& out) {
  out.push_back(at);
  if (doc.is_object()) {
    for (const auto& [key, child] : doc.items()) pointers_of(child, at + "/" + key, out);
  } else if (doc.is_array()) {
    for (std::size_t i = 0; i < doc.size(); ++i) pointers_of(doc[i], at + "/" + std::to_string(i), out);
  }
}

// Payloads altered from `text`: structural changes through the DOM, and byte changes.
std::vector<std::string> altered(const std::string& text, std::mt19937& random) {
  std::vector<std::string> out{text};
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_discarded()) {
    std::vector<std::string> pointers;
    pointers_of(doc, "", pointers);
    const json replacements[] = {"",
                                 "x",
                                 0,
                                 -1,
                                 1.5,
                                 true,
                                 nullptr,
                                 json::object(),
                                 json::array(),
                                 "2025-13-45T00:00:00Z",
                                 "2025-03-12T07:05:00+01:00",
                                 "AMS",
                                 "forced",
                                 std::string(300, 'y'),
                                 123456789012,
                                 "7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01",
                                 "a@b.example",
                                 "2025-02-30",
                                 json::array({"x", "x"}),
                                 json::array({1, 1})};
    for (const auto& pointer : pointers) {
      if (pointer.empty()) continue;
      const json::json_pointer p(pointer);
      json dropped = doc;
      dropped.at(p.parent_pointer()).is_object() ? (void)dropped.at(p.parent_pointer()).erase(p.back())
                                                 : dropped.at(p.parent_pointer()).erase(std::stoul(p.back()));
      out.push_back(dropped.dump());
      for (const auto& value : replacements) {
        json changed = doc;
        changed.at(p) = value;
        out.push_back(changed.dump());
      }
      if (doc.at(p).is_object()) {
        json extra = doc;
        extra.at(p)["not_in_the_contract"] = 1;
        out.push_back(extra.dump());
      }
    }
    json extra = doc;
    if (extra.is_object()) {
      extra["not_in_the_contract"] = "x";
      out.push_back(extra.dump());
      // A key named twice (the full parser refuses it): the first member repeated in front.
      const std::string compact = doc.dump();
      if (compact.size() > 2 && compact[1] == '"') {
        const std::size_t comma = compact.find(",\"");
        if (comma != std::string::npos) out.push_back("{" + compact.substr(1, comma) + compact.substr(1));
      }
    }
  }
  std::uniform_int_distribution<std::size_t> where(0, text.size() - 1);
  const std::string bytes = "\"\\{}[],:0123456789.-+eEtrufalsn xAZ\x01\x7f\xc3\xa9";
  std::uniform_int_distribution<std::size_t> which(0, bytes.size() - 1);
  for (int i = 0; i < 150; ++i) {
    std::string t = text;
    const std::size_t at = where(random);
    switch (i % 3) {
      case 0: t[at] = bytes[which(random)]; break;
      case 1: t.erase(at, 1); break;
      default: t.insert(at, 1, bytes[which(random)]); break;
    }
    out.push_back(std::move(t));
  }
  return out;
}

struct SetUnderTest {
  const char* folder;
  fs::path dir;
};

}  // namespace

TEST_CASE(
    "the fast path accepts nothing the full validator refuses, on every contract and thousands of altered payloads",
    "[contracts][fast]") {
  std::mt19937 random(20261207);
  std::size_t checked = 0, accepted_fast = 0, compiled = 0;
  for (const char* folder : {"contracts/migration-chain", "bench/contracts"}) {
    const fs::path dir = fs::path(KETEN_SOURCE_DIR) / folder;
    auto registry = contracts::ContractRegistry::load(dir);
    REQUIRE(registry);
    for (auto& [key, contract] : registry->all()) {
      const auto& [name, version] = key;
      std::vector<fs::path> samples;
      for (const auto& entry : fs::directory_iterator(dir / "samples")) {
        const std::string file = entry.path().filename().string();
        if (file.rfind(name + ".", 0) == 0 && file.size() > name.size() + 1 &&
            (file.compare(name.size() + 1, 5, "valid") == 0 || file.compare(name.size() + 1, 7, "invalid") == 0)) {
          samples.push_back(entry.path());
        }
      }
      auto& validator = const_cast<contracts::PayloadValidator&>(contract.validator);
      contracts::JsonSpans spans;
      bool fast_seen = false;
      for (const auto& sample : samples) {
        for (const auto& payload : altered(test_support::file_bytes(sample), random)) {
          ++checked;
          if (!validator.accepts_fast(payload, spans)) continue;
          fast_seen = true;
          ++accepted_fast;
          INFO(folder << " " << name << " v" << version << " from " << sample.filename() << ": " << payload);
          REQUIRE(full_accepts(validator, payload));
        }
      }
      compiled += fast_seen ? 1 : 0;
    }
  }
  INFO(checked << " payloads, " << accepted_fast << " accepted by the fast path");
  CHECK(checked > 20000);
  CHECK(accepted_fast > 500);  // the comparison is about something (1 056 when written)
  CHECK(compiled > 30);
}

TEST_CASE("the fast path takes every valid sample of the migration chain and the bench", "[contracts][fast]") {
  for (const char* folder : {"contracts/migration-chain", "bench/contracts"}) {
    const fs::path dir = fs::path(KETEN_SOURCE_DIR) / folder;
    auto registry = contracts::ContractRegistry::load(dir);
    REQUIRE(registry);
    for (auto& [key, contract] : registry->all()) {
      const fs::path sample = dir / "samples" / (key.first + ".valid.json");
      if (!fs::exists(sample)) continue;
      auto& validator = const_cast<contracts::PayloadValidator&>(contract.validator);
      contracts::JsonSpans spans;
      INFO(folder << " " << key.first << " v" << key.second);
      CHECK(validator.accepts_fast(test_support::file_bytes(sample), spans));
    }
  }
}

TEST_CASE("a schema with a keyword the fast path does not model is checked the full way only", "[contracts][fast]") {
  for (const char* schema :
       {R"({"type": "object", "patternProperties": {"^x": {"type": "string"}}})",
        R"({"type": "integer", "multipleOf": 3})", R"({"oneOf": [{"type": "string"}, {"type": "integer"}]})",
        R"({"type": "array", "items": [{"type": "string"}]})", R"({"enum": [1.5, 2]})",
        R"({"$ref": "other.json#/x"})"}) {
    INFO(schema);
    CHECK_FALSE(contracts::FastSchema::compile(json::parse(schema)));
  }
  auto validator = contracts::PayloadValidator::compile(R"({"type": "integer", "multipleOf": 3})");
  REQUIRE(validator);
  contracts::JsonSpans spans;
  CHECK_FALSE(validator->accepts_fast("9", spans));
  CHECK(validator->validate("9").ok());  // the full way
  CHECK_FALSE(validator->validate("10").ok());
}

TEST_CASE("the fast path's checks: types, lengths in code points, bounds, enums, formats, patterns and combinations",
          "[contracts][fast]") {
  const auto schema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["id"],
    "definitions": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "properties": {
      "id": {"type": "string", "format": "uuid"},
      "name": {"type": "string", "minLength": 2, "maxLength": 3},
      "count": {"type": "integer", "minimum": 0, "maximum": 10},
      "weight": {"type": "number", "maximum": 2.5},
      "mode": {"enum": ["a", "b"]},
      "code": {"$ref": "#/definitions/code"},
      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": true},
      "either": {"anyOf": [{"type": "integer"}, {"type": "string", "const": "none"}]},
      "kind": {"type": "string"}, "detail": {"type": ["string", "null"]},
      "flag": {"const": true}, "level": {"enum": [1, 2, null]}
    },
    "if": {"properties": {"kind": {"const": "x"}}, "required": ["kind"]},
    "then": {"required": ["detail"]}})");
  auto fast = contracts::FastSchema::compile(schema);
  REQUIRE(fast);
  const std::string id = R"("id": "7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01")";
  auto accepts = [&](const std::string& members) {
    contracts::JsonSpans spans;
    const std::string text = "{" + id + (members.empty() ? "" : ", " + members) + "}";
    return spans.parse(text, 31) && fast->accepts(spans);
  };
  CHECK(accepts(""));
  CHECK(accepts(R"("name": "éé")"));  // two code points, four bytes
  CHECK_FALSE(accepts(R"("name": "éééé")"));
  CHECK(accepts(R"("name": "a\u00e9")"));
  CHECK(accepts(R"("count": 10)"));
  CHECK_FALSE(accepts(R"("count": 11)"));
  CHECK_FALSE(accepts(R"("count": 1.0)"));  // a float is no integer for the full validator either
  CHECK(accepts(R"("weight": 2.5)"));
  CHECK_FALSE(accepts(R"("weight": 2.6)"));
  CHECK(accepts(R"("mode": "b")"));
  CHECK_FALSE(accepts(R"("mode": "c")"));
  CHECK(accepts(R"("code": "AMS")"));
  CHECK_FALSE(accepts(R"("code": "ams")"));
  CHECK(accepts(R"("tags": ["a", "b"])"));
  CHECK_FALSE(accepts(R"("tags": ["a", "a"])"));
  CHECK_FALSE(accepts(R"("tags": ["a", "b", "c"])"));
  CHECK(accepts(R"("either": 3)"));
  CHECK(accepts(R"("either": "none")"));
  CHECK_FALSE(accepts(R"("either": "some")"));
  CHECK(accepts(R"("kind": "y")"));
  CHECK_FALSE(accepts(R"("kind": "x")"));  // if kind is "x", then detail is required
  CHECK(accepts(R"("kind": "x", "detail": null)"));
  CHECK_FALSE(accepts(R"("unknown": 1)"));
  CHECK(accepts(R"("flag": true)"));
  CHECK_FALSE(accepts(R"("flag": false)"));
  CHECK(accepts(R"("level": 2)"));
  CHECK(accepts(R"("level": null)"));
  CHECK_FALSE(accepts(R"("level": 3)"));
  CHECK_FALSE(accepts(R"("level": "2")"));
  contracts::JsonSpans spans;
  CHECK_FALSE((spans.parse(R"({"id": "not-a-uuid"})", 31) && fast->accepts(spans)));
  CHECK_FALSE((spans.parse(R"({"name": "ab"})", 31) && fast->accepts(spans)));  // id is required
}
