// The one TOML reader (contracts/toml_file.h): a syntax error names the file, line and column, the
// same for text and files; a missing file says it cannot be opened; nothing throws.
#include "contracts/toml_file.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

using Catch::Matchers::StartsWith;

TEST_CASE("a TOML syntax error names the origin, line and column", "[contracts][toml]") {
  auto r = contracts::parse_toml("name = \"x\"\n[section\nkey = 1\n", "keten.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(r.error().detail, StartsWith("keten.toml:2:"));
  // Past the column: toml++'s own description.
  const std::string detail = r.error().detail;
  const auto after = detail.find(": ", std::string("keten.toml:2:").size());
  REQUIRE(after != std::string::npos);
  CHECK(detail.size() > after + 2);
}

TEST_CASE("a TOML file with a syntax error reads the same as its text", "[contracts][toml]") {
  test_support::TempDir dir;
  const auto path = dir / "adapter.toml";
  const std::string text = "a = 1\nb = \n";
  std::ofstream(path) << text;
  auto from_file = contracts::read_toml_file(path);
  auto from_text = contracts::parse_toml(text, path.string());
  REQUIRE_FALSE(from_file);
  REQUIRE_FALSE(from_text);
  CHECK(from_file.error().detail == from_text.error().detail);
  CHECK_THAT(from_file.error().detail, StartsWith(path.string() + ":2:"));
}

TEST_CASE("a duplicate key is a syntax error at its second line", "[contracts][toml]") {
  auto r = contracts::parse_toml("inbox = \"in\"\n\ninbox = \"again\"\n", "c.toml");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().detail, StartsWith("c.toml:3:"));
}

TEST_CASE("a missing TOML file is a config error naming it", "[contracts][toml]") {
  test_support::TempDir dir;
  auto r = contracts::read_toml_file(dir / "missing.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(r.error().detail, StartsWith((dir / "missing.toml").string() + ": cannot open ("));
  auto folder = contracts::read_toml_file(dir.path());
  REQUIRE_FALSE(folder);
  CHECK(folder.error().detail == dir.path().string() + ": is a directory");
}

TEST_CASE("valid TOML parses with its nodes' source naming the origin", "[contracts][toml]") {
  auto r = contracts::parse_toml("[broker]\nlisten = \"tcp://*:5555\"\n", "keten.toml");
  REQUIRE(r);
  CHECK((*r)["broker"]["listen"].value<std::string>() == "tcp://*:5555");
  REQUIRE((*r)["broker"]["listen"].node() != nullptr);
  CHECK((*r)["broker"]["listen"].node()->source().begin.line == 2);
  CHECK(*(*r)["broker"]["listen"].node()->source().path == "keten.toml");
}
