#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "bench/load.h"

using Ids = bench::LoadOptions::Ids;

namespace {
const std::string kRun = "bench-0a1b2c3d4e5f";

std::vector<std::string> ids_of(Ids style, std::uint64_t count) {
  std::vector<std::string> out;
  for (std::uint64_t i = 0; i < count; ++i) out.push_back(bench::bench_message_id(style, kRun, i));
  return out;
}

// How many neighbours sort the other way round than they were made.
std::size_t inversions(const std::vector<std::string>& ids) {
  std::size_t n = 0;
  for (std::size_t i = 1; i < ids.size(); ++i) n += ids[i] < ids[i - 1] ? 1 : 0;
  return n;
}
}  // namespace

TEST_CASE("every id style gives each message its own id and its index back", "[bench][ids]") {
  for (Ids style : {Ids::kCounter, Ids::kOrdered, Ids::kRandom}) {
    const auto ids = ids_of(style, 5'000);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
    for (std::uint64_t i = 0; i < ids.size(); ++i) {
      INFO(ids[i]);
      REQUIRE(bench::bench_message_index(kRun, ids[i]) == i);
    }
  }
}

TEST_CASE("ordered ids sort as they were made; counter and random ids do not", "[bench][ids]") {
  CHECK(inversions(ids_of(Ids::kOrdered, 5'000)) == 0);
  CHECK(inversions(ids_of(Ids::kCounter, 5'000)) > 0);         // "-10" sorts before "-9"
  CHECK(inversions(ids_of(Ids::kRandom, 5'000)) > 5'000 / 4);  // about half, as UUID v4 ids
  CHECK(bench::bench_message_id(Ids::kOrdered, kRun, 42) == kRun + "-00000000000000000042");
}

TEST_CASE("an id of another run or with no index is not taken for one of this run", "[bench][ids]") {
  CHECK_FALSE(bench::bench_message_index(kRun, "bench-ffffffffffff-7"));
  CHECK_FALSE(bench::bench_message_index(kRun, kRun));
  CHECK_FALSE(bench::bench_message_index(kRun, kRun + "-"));
  CHECK_FALSE(bench::bench_message_index(kRun, kRun + "-12x"));
  CHECK_FALSE(bench::bench_message_index(kRun, "0195a3c2-1111-7000-8000-000000000000"));
}
