#include "broker/cli/heap_prefault.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

// AddressSanitizer's allocator hands out blocks from its own mappings, never from the heap below
// the break (gcc says so with __SANITIZE_ADDRESS__, clang with __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define KETEN_OTHER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KETEN_OTHER_ALLOCATOR 1
#endif
#endif

namespace keten_cli {

PageRange heap_range_to_fault(std::uintptr_t block, std::size_t bytes, std::uintptr_t brk, std::size_t page) {
  const std::uintptr_t mask = ~static_cast<std::uintptr_t>(page - 1);
  const std::uintptr_t first = (block + page - 1) & mask;
  const std::uintptr_t last = brk & mask;
  // The block must end at or below the break, and the break must not lie far beyond it: glibc
  // grows the heap by the block and its top padding (128 KiB by default) at most.
  if (block == 0 || first >= last || block + bytes > brk || brk - (block + bytes) > bytes) return {};
  return {first, last};
}

std::size_t prefault_heap(std::size_t bytes) {
#if defined(KETEN_OTHER_ALLOCATOR)
  (void)bytes;
  return 0;
#else
#ifdef MADV_POPULATE_WRITE
  if (bytes == 0) return 0;
  const auto limit = static_cast<int>(2 * bytes);
  // Blocks up to twice `bytes` from the heap (not one mapping each), and the heap kept when its top
  // is freed: the block below becomes the free top of the heap that later allocations carve.
  if (mallopt(M_MMAP_THRESHOLD, limit) != 1 || mallopt(M_TRIM_THRESHOLD, limit) != 1) return 0;
  void* block = std::malloc(bytes);
  if (block == nullptr) return 0;
  const auto at = reinterpret_cast<std::uintptr_t>(block);
  std::free(block);
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const PageRange range = heap_range_to_fault(at, bytes, reinterpret_cast<std::uintptr_t>(::sbrk(0)), page);
  if (range.first == range.last) return 0;
  const std::size_t length = range.last - range.first;
  if (::madvise(reinterpret_cast<void*>(range.first), length, MADV_POPULATE_WRITE) != 0) return 0;
  return length;
#else
  (void)bytes;
  return 0;  // headers older than Linux 5.14
#endif
#endif
}

bool heap_prefault_built_in() {
#if defined(KETEN_OTHER_ALLOCATOR) || !defined(MADV_POPULATE_WRITE)
  return false;
#else
  return true;
#endif
}

}  // namespace keten_cli
