#pragma once
// A short-lived tool's heap, faulted in at its start in one system call. keten-inspect's case
// replay touches about 4 MiB of new heap (SQLite's page cache, the proof's tiles, the events), and
// on a virtual machine each 4 KiB page touched for the first time is a fault that costs about
// 10 µs: some 700 faults, a fifth of a 40 ms replay (docs/performance.md, round 14). The kernel
// fills the same pages in one `madvise(MADV_POPULATE_WRITE)` (Linux 5.14) in a fraction of that.
// Only for processes that end soon: the pages stay resident until the process exits.

#include <cstddef>
#include <cstdint>

namespace keten_cli {

// The page-aligned range of the heap to fault in, after an allocation of `bytes` at `block` was
// freed and the heap's end (the program break) stands at `brk`: from the first whole page of the
// block up to the last whole page below the break. Empty (first == last) when the block does not
// lie in the heap just below the break, as when the allocator mapped it elsewhere (an allocation
// above glibc's mmap threshold, or another allocator, as under AddressSanitizer).
struct PageRange {
  std::uintptr_t first = 0;
  std::uintptr_t last = 0;
};
PageRange heap_range_to_fault(std::uintptr_t block, std::size_t bytes, std::uintptr_t brk, std::size_t page);

// Grows glibc's main heap by at least `bytes` and faults it in. Allocations of less than `bytes`
// then come from that heap rather than from mappings of their own (which would be faulted in
// again), and the heap is not trimmed back below it. Returns how many bytes were faulted in: 0
// when nothing was (a kernel without MADV_POPULATE_WRITE, an allocator other than glibc's, as in
// the AddressSanitizer build); the process works the same either way, only slower.
std::size_t prefault_heap(std::size_t bytes);

// False where prefault_heap does nothing by construction: built for AddressSanitizer, whose
// allocator never hands out blocks from the heap below the break, or without MADV_POPULATE_WRITE.
bool heap_prefault_built_in();

}  // namespace keten_cli
