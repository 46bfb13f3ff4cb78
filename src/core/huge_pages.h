// Memory for large buffers read as streams (benchmark matrices, the read-bandwidth probe):
// 2 MiB-aligned and advised for transparent huge pages, so that where the kernel grants them it
// is physically contiguous in 2 MiB pieces and its read speed does not depend on the order in
// which earlier allocations left the free 4 KiB pages.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mxlm {

// At least `bytes` bytes (rounded up to 2 MiB), released by free_huge_pages. Throws
// std::bad_alloc.
void* alloc_huge_pages(size_t bytes);
void free_huge_pages(void* p);

// MemAvailable of /proc/meminfo in bytes (memory the system can hand out without swapping,
// reclaimable page cache included); 0 where it cannot be read.
uint64_t available_memory();

// A std::vector allocator over alloc_huge_pages.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(alloc_huge_pages(n * sizeof(T))); }
  void deallocate(T* p, size_t) { free_huge_pages(p); }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

}  // namespace mxlm
