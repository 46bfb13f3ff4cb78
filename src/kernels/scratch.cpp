#include "kernels/scratch.h"

#include <cstdlib>
#include <memory>
#include <new>

namespace mxlm::kernels {
namespace {

struct Buffer {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data;
  size_t size = 0;
};

}  // namespace

void* scratch(ScratchSlot slot, size_t bytes) {
  thread_local Buffer buffers[size_t(ScratchSlot::kCount)];
  Buffer& b = buffers[size_t(slot)];
  if (bytes > b.size) {
    const size_t size = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, size);
    if (p == nullptr) throw std::bad_alloc();
    b.data.reset(p);
    b.size = size;
  }
  return b.data.get();
}

}  // namespace mxlm::kernels
