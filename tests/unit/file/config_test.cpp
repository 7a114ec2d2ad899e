// The file adapter's TOML config: defaults, relative paths, bounds, unknown keys.
#include <catch2/catch.hpp>

#include <fstream>

#include "adapters/file/config.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;

fs::path write_config(const test_support::TempDir& dir, const std::string& text) {
  const fs::path path = dir / "cfg" / "adapter.toml";
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("adapter config resolves paths against its folder and fills the defaults", "[file][config]") {
  test_support::TempDir dir;
  auto path = write_config(dir, R"(
profile = "AIR-ZZ.toml"
inbox = "drop/in"
outbox = "/srv/out"
[[csv]]
contract = "a.b"
files = "*.csv"
case_column = "v"
columns = [{ column = "x", field = "/x" }]
)");
  auto config = file_adapter::load_config(path);
  REQUIRE(config);
  CHECK(config->profile == dir / "cfg" / "AIR-ZZ.toml");
  CHECK(config->inbox == dir / "cfg" / "drop" / "in");
  CHECK(config->outbox == fs::path("/srv/out"));
  CHECK(config->processed == config->inbox / "processed");
  CHECK(config->rejected == config->inbox / "rejected");
  CHECK(config->state == fs::path("/srv/out/.keten"));
  CHECK(config->stable == std::chrono::milliseconds(2000));
  CHECK(config->poll == std::chrono::milliseconds(500));
  CHECK(config->use_inotify);
  CHECK(config->marker_retention == std::chrono::hours(30 * 24));
  REQUIRE(config->csv.size() == 1);
  CHECK(config->csv[0].contract == "a.b");
}

TEST_CASE("adapter config refuses what it does not understand, naming the key", "[file][config]") {
  struct Bad {
    std::string text;
    std::string expect;
  };
  const std::string base = "profile = \"p.toml\"\ninbox = \"in\"\noutbox = \"out\"\n";
  auto bad = GENERATE_COPY(values<Bad>({
      {"inbox = \"in\"\noutbox = \"out\"\n", "key profile: missing"},
      {base + "colour = \"red\"\n", "key colour"},
      {base + "poll_ms = 0\n", "key poll_ms"},
      {base + "watch = \"fanotify\"\n", "key watch"},
      {base + "stable_ms = \"soon\"\n", "key stable_ms"},
      {base + "marker_retention_days = 3651\n", "key marker_retention_days"},
      {base + "marker_retention_days = -1\n", "key marker_retention_days"},
      {base + "ignore_suffixes = \".tmp\"\n", "key ignore_suffixes"},
      {base + "[[csv]]\ncontract = \"a.b\"\n", "csv[1].files"},
      {base + "inbox = \"again\"\n", ".toml:4:"},
  }));
  test_support::TempDir dir;
  auto config = file_adapter::load_config(write_config(dir, bad.text));
  REQUIRE_FALSE(config);
  CHECK(config.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(config.error().detail, Catch::Matchers::Contains(bad.expect));
}

TEST_CASE("marker_retention_days 0 keeps the markers", "[file][config]") {
  test_support::TempDir dir;
  auto config = file_adapter::load_config(
      write_config(dir, "profile = \"p.toml\"\ninbox = \"in\"\noutbox = \"out\"\nmarker_retention_days = 0\n"));
  REQUIRE(config);
  CHECK(config->marker_retention.count() == 0);
}
