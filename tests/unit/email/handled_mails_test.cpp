#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "adapters/email/handled_mails.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
constexpr contracts::Millis kDay = 86'400'000;
constexpr contracts::Millis kNow = 1'741'334'400'000;  // 2025-03-07

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

TEST_CASE("a handled mail is remembered after the file is opened again", "[email]") {
  test_support::TempDir dir;
  const auto path = dir / "state" / "email.handled";
  {
    auto handled = email::HandledMails::open(path, 24h * 90, kNow);
    REQUIRE(handled);
    CHECK_FALSE(handled->contains("m1@gem.example"));
    REQUIRE(handled->add("m1@gem.example", kNow));
    REQUIRE(handled->add("m1@gem.example", kNow));  // once is enough
    CHECK(handled->contains("m1@gem.example"));
  }
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read(path).find("m1@gem.example") == std::string::npos);  // only its digest is kept
  auto reopened = email::HandledMails::open(path, 24h * 90, kNow + kDay);
  REQUIRE(reopened);
  CHECK(reopened->contains("m1@gem.example"));
  CHECK_FALSE(reopened->contains("m2@gem.example"));
  CHECK(reopened->size() == 1);
}

TEST_CASE("a torn last line of the handled-mails file is dropped and does not swallow the next entry", "[email]") {
  test_support::TempDir dir;
  const auto path = dir / "email.handled";
  {
    auto handled = email::HandledMails::open(path, 24h * 90, kNow);
    REQUIRE(handled);
    REQUIRE(handled->add("kept@gem.example", kNow));
  }
  std::ofstream(path, std::ios::app) << "17413344 3b0c";  // a crash mid-append
  {
    auto handled = email::HandledMails::open(path, 24h * 90, kNow);
    REQUIRE(handled);
    CHECK(handled->size() == 1);
    REQUIRE(handled->add("after@gem.example", kNow));
  }
  auto reopened = email::HandledMails::open(path, 24h * 90, kNow);
  REQUIRE(reopened);
  CHECK(reopened->contains("kept@gem.example"));
  CHECK(reopened->contains("after@gem.example"));
  CHECK(reopened->size() == 2);
}

TEST_CASE("handled mails older than the retention are forgotten", "[email]") {
  test_support::TempDir dir;
  const auto path = dir / "email.handled";
  {
    auto handled = email::HandledMails::open(path, 24h * 90, kNow);
    REQUIRE(handled);
    REQUIRE(handled->add("old@gem.example", kNow - 91 * kDay));
    REQUIRE(handled->add("young@gem.example", kNow - 89 * kDay));
  }
  auto reopened = email::HandledMails::open(path, 24h * 90, kNow);
  REQUIRE(reopened);
  CHECK_FALSE(reopened->contains("old@gem.example"));
  CHECK(reopened->contains("young@gem.example"));
  const std::string text = read(path);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

TEST_CASE("a handled-mails file that cannot be created is an error naming it", "[email]") {
  test_support::TempDir dir;
  std::ofstream(dir / "blocker") << "a file, not a folder";
  auto handled = email::HandledMails::open(dir / "blocker" / "email.handled", 24h, kNow);
  REQUIRE_FALSE(handled);
  CHECK(handled.error().code == contracts::ErrorCode::kStorage);
  CHECK(handled.error().detail.find("blocker") != std::string::npos);
}
