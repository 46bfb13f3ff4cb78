// AMX tile configuration shared by the AVX-512 files that use tiles (prefill_avx512.cpp and the
// AMX peak probe in roofline_avx512.cpp). Internal linkage: each includes its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace mxlm::kernels {
namespace {

// Tiles 0..7 as 16 rows of 64 bytes: 16×16 fp32 (C) or 16×32 bf16 (A, and B as 16 bf16 pairs).
inline void configure_tiles() {
  struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
  } config;
  std::memset(&config, 0, sizeof config);
  config.palette = 1;
  for (int i = 0; i < 8; ++i) config.rows[i] = 16, config.bytes_per_row[i] = 64;
  _tile_loadconfig(&config);
}

}  // namespace
}  // namespace mxlm::kernels
