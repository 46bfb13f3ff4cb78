// Per-thread scratch memory for kernels: buffers that only grow, so the hot path allocates only
// the first time a size is seen. The growth code lives in baseline scratch.cpp on purpose: an
// ISA file that instantiated std::vector's growth paths could have them emitted with wide
// instructions and chosen by the linker for baseline callers.
#pragma once

#include <cstddef>

namespace mxlm::kernels {

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread; valid until the next
// call with the same slot. Contents are unspecified.
enum class ScratchSlot { QuantActs, ActScales, ActCorr, ActGroupSums, RowScales, RowBiases, Row, Panel, PackedTokens, DeltaRule, Attention, kCount };
void* scratch(ScratchSlot slot, size_t bytes);

template <class T>
T* scratch_of(ScratchSlot slot, size_t n) {
  return static_cast<T*>(scratch(slot, n * sizeof(T)));
}

}  // namespace mxlm::kernels
