// keten-inspect's heap faulted in at start (broker/cli/heap_prefault.h): which range is faulted in,
// and that allocations within it then take no page faults.
#include "broker/cli/heap_prefault.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::uintptr_t kHeap = 0x5555'0000'0000;

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

}  // namespace

TEST_CASE("the range faulted in runs from the block's first whole page to the break", "[cli][heap]") {
  const std::size_t bytes = 8 << 20;
  // glibc's block starts 16 bytes into a page; the break lies the top padding past its end.
  const auto range = keten_cli::heap_range_to_fault(kHeap + 16, bytes, kHeap + 16 + bytes + (128 << 10) + 100, kPage);
  CHECK(range.first == kHeap + kPage);
  CHECK(range.last == kHeap + bytes + (128 << 10));
}

TEST_CASE("a block the allocator placed elsewhere than below the break is not faulted in", "[cli][heap]") {
  const std::size_t bytes = 8 << 20;
  SECTION("mapped above the break") {
    const auto range = keten_cli::heap_range_to_fault(kHeap + (1ULL << 32), bytes, kHeap + bytes, kPage);
    CHECK(range.first == range.last);
  }
  SECTION("far below the break: the break is not the one this block moved") {
    const auto range = keten_cli::heap_range_to_fault(kHeap, bytes, kHeap + 3 * bytes, kPage);
    CHECK(range.first == range.last);
  }
  SECTION("no block") {
    const auto range = keten_cli::heap_range_to_fault(0, bytes, kHeap, kPage);
    CHECK(range.first == range.last);
  }
  SECTION("a block of less than a page") {
    const auto range = keten_cli::heap_range_to_fault(kHeap + 16, 100, kHeap + 200, kPage);
    CHECK(range.first == range.last);
  }
}

TEST_CASE("allocations within the faulted-in heap take no page faults", "[cli][heap]") {
  const std::size_t bytes = 8 << 20;
  const std::size_t faulted = keten_cli::prefault_heap(bytes);
  if (!keten_cli::heap_prefault_built_in()) {
    // The AddressSanitizer build: its allocator's blocks never come from the heap below the break,
    // so nothing is done (`make test-fast` runs the rest of this test in the normal build).
    CHECK(faulted == 0);
    return;
  }
  REQUIRE(faulted >= bytes);
  // 4 MiB in blocks the size of SQLite's pages, each written: without the prefault about a
  // thousand faults.
  const long before = minor_faults();
  std::vector<std::unique_ptr<char[]>> blocks;
  blocks.reserve(1024);
  for (int i = 0; i < 1024; ++i) {
    blocks.emplace_back(new char[kPage]);
    blocks.back()[0] = static_cast<char>(i);
    blocks.back()[kPage - 1] = static_cast<char>(i);
  }
  const long faults = minor_faults() - before;
  CAPTURE(faults);
  CHECK(faults < 64);
}
