// Run-time CPU feature detection and the choice of SIMD kernel set. The build never assumes
// more than baseline x86-64; kernels for wider ISAs live in *_avx2.cpp / *_avx512.cpp files.
#pragma once

#include <string_view>
#include <vector>

namespace mxlm {

enum class Isa { Scalar, Avx2, Avx512 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512bf16 = false, avx512vnni = false, avx512vbmi = false, gfni = false;
  // AMX-BF16 tiles, usable: the CPU has them, the OS saves their state, and Linux granted this
  // process the tile data permission. MXLM_AMX=0 in the environment turns them off.
  bool amx_bf16 = false;
};

const CpuFeatures& cpu_features();

// Every ISA level this CPU can run, from Scalar up.
std::vector<Isa> supported_isas();

// The ISA the kernels use: the best supported one, or MXLM_ISA=scalar|avx2|avx512 from the
// environment when that is supported (an unsupported request is an error).
Isa active_isa();

std::string_view isa_name(Isa isa);

}  // namespace mxlm
