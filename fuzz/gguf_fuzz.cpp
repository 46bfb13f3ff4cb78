// Feeds arbitrary bytes to the GGUF parser: it must either accept them or throw mxlm::Error,
// never crash, read out of bounds, allocate without bound, or accept tensors outside the file.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = mxlm::formats::parse_gguf(data, size, "fuzz");
    for (const auto& t : header.tensors)
      if (t.offset > size || t.nbytes > size - t.offset || t.offset < header.data_offset) __builtin_trap();
  } catch (const mxlm::Error&) {
  }
  return 0;
}
