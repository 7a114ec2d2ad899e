// Durable writes and moves, the stability check, ignored names and safe file names.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "adapters/file/durable.h"
#include "adapters/file/file_adapter.h"
#include "adapters/file/inbox.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("write_durably replaces a file whole and leaves no temporary", "[file][durable]") {
  test_support::TempDir dir;
  REQUIRE(file_adapter::write_durably(dir.path(), "a.json", "first"));
  REQUIRE(file_adapter::write_durably(dir.path(), "a.json", "second"));
  CHECK(read(dir / "a.json") == "second");
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++count;
  CHECK(count == 1);
}

TEST_CASE("write_durably runs the hook with only the temporary on disk", "[file][durable]") {
  test_support::TempDir dir;
  bool ran = false;
  REQUIRE(file_adapter::write_durably(dir.path(), "b.json", "data", [&] {
    ran = true;
    CHECK_FALSE(fs::exists(dir / "b.json"));
    CHECK(read(dir / ".b.json.keten-tmp") == "data");
  }));
  CHECK(ran);
  CHECK(file_adapter::remove_stale_temporaries(dir.path()) == 0);
  std::ofstream(dir / ".c.json.keten-tmp") << "x";
  std::ofstream(dir / ".party.tmp") << "x";
  CHECK(file_adapter::remove_stale_temporaries(dir.path()) == 1);
  CHECK(fs::exists(dir / ".party.tmp"));
}

TEST_CASE("move_durably never replaces a file, and free_name finds a new name", "[file][durable]") {
  test_support::TempDir dir;
  fs::create_directories(dir / "in");
  REQUIRE(file_adapter::ensure_directory(dir / "out" / "deep"));
  std::ofstream(dir / "in" / "x.csv") << "new";
  std::ofstream(dir / "out" / "deep" / "x.csv") << "old";
  auto clash = file_adapter::move_durably(dir / "in" / "x.csv", dir / "out" / "deep" / "x.csv");
  REQUIRE_FALSE(clash);
  CHECK(clash.error().code == contracts::ErrorCode::kStorage);
  CHECK(read(dir / "out" / "deep" / "x.csv") == "old");
  const auto name = file_adapter::free_name(dir / "out" / "deep", "x.csv");
  CHECK(name == "x.2.csv");
  REQUIRE(file_adapter::move_durably(dir / "in" / "x.csv", dir / "out" / "deep" / name));
  CHECK(read(dir / "out" / "deep" / "x.2.csv") == "new");
  CHECK_FALSE(fs::exists(dir / "in" / "x.csv"));
}

TEST_CASE("the inbox scanner hands out a file only after it stayed unchanged", "[file][inbox]") {
  test_support::TempDir dir;
  file_adapter::InboxScanner scanner(dir.path(), 100ms, {".tmp"});
  fs::create_directories(dir / "processed");
  std::ofstream(dir / "a.json") << "{";
  std::ofstream(dir / "b.json.tmp") << "{}";
  std::ofstream(dir / ".c.json") << "{}";
  fs::create_symlink("/etc/hostname", dir / "link.json");
  const auto t0 = file_adapter::InboxScanner::Clock::now();
  CHECK(scanner.ready(t0).empty());
  CHECK(scanner.has_waiting());
  CHECK(scanner.ready(t0 + 50ms).empty());
  std::ofstream(dir / "a.json", std::ios::app) << "}";  // it grew: the wait starts again
  CHECK(scanner.ready(t0 + 120ms).empty());
  CHECK(scanner.ready(t0 + 200ms).empty());
  CHECK(scanner.ready(t0 + 230ms) == std::vector<std::string>{"a.json"});
  CHECK_FALSE(scanner.has_waiting());
}

TEST_CASE("ignored names and safe outbox names", "[file][inbox]") {
  const std::vector<std::string> suffixes{".tmp", ".part", "~"};
  CHECK(file_adapter::is_ignored_name(".hidden.json", suffixes));
  CHECK(file_adapter::is_ignored_name("a.json.tmp", suffixes));
  CHECK(file_adapter::is_ignored_name("a.csv~", suffixes));
  CHECK_FALSE(file_adapter::is_ignored_name("a.json", suffixes));
  CHECK(file_adapter::file_name_for("3f2a-11.x_y") == "3f2a-11.x_y");
  const auto odd = file_adapter::file_name_for("../a/b");
  CHECK(odd.find('/') == std::string::npos);
  CHECK(odd.front() != '.');
  CHECK(odd != file_adapter::file_name_for("../a_b"));
}

TEST_CASE("remove_files_older_than removes old markers only", "[file][durable]") {
  test_support::TempDir dir;
  const fs::path state = dir / "state";
  fs::create_directories(state / "sub");
  const auto now = fs::file_time_type::clock::now();
  for (const char* name : {"old-1", "old-2", "fresh", ".old-hidden"}) std::ofstream(state / name) << "";
  fs::last_write_time(state / "old-1", now - 40 * 24h);
  fs::last_write_time(state / "old-2", now - 31 * 24h);
  fs::last_write_time(state / ".old-hidden", now - 40 * 24h);
  fs::last_write_time(state / "sub", now - 40 * 24h);

  CHECK(file_adapter::remove_files_older_than(state, now - 30 * 24h) == 2);
  CHECK_FALSE(fs::exists(state / "old-1"));
  CHECK_FALSE(fs::exists(state / "old-2"));
  CHECK(fs::exists(state / "fresh"));
  CHECK(fs::exists(state / ".old-hidden"));  // not a marker
  CHECK(fs::exists(state / "sub"));          // folders are left alone
  CHECK(file_adapter::remove_files_older_than(dir / "missing", now) == 0);
}
