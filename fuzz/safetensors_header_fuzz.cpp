// Feeds arbitrary bytes to the safetensors header parser: it must either accept them or throw
// mxlm::Error, never crash, read out of bounds or accept inconsistent offsets.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = mxlm::formats::parse_safetensors_header(data, size, "fuzz");
    const uint64_t data_size = size - header.data_offset;
    for (const auto& e : header.entries)
      if (e.end > data_size || e.begin > e.end) __builtin_trap();
  } catch (const mxlm::Error&) {
  }
  return 0;
}
