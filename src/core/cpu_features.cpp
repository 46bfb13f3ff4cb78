#include "core/cpu_features.h"

#include <cpuid.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/error.h"

namespace mxlm {
namespace {

// Linux hands out the (large) tile data state only on request: ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA, once for the whole process.
bool amx_permitted() {
  const char* env = std::getenv("MXLM_AMX");
  if (env != nullptr && std::string_view(env) == "0") return false;
#ifdef __linux__
  constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
#else
  return false;
#endif
}

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE;
  const bool fma = c & bit_FMA, f16c = c & bit_F16C, avx = c & bit_AVX;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;
  if (!ymm_os) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = b & bit_AVX2;
  f.bmi2 = b & bit_BMI2;
  f.fma = fma;
  f.f16c = f16c;
  if (zmm_os) {
    f.avx512f = b & bit_AVX512F;
    f.avx512bw = b & bit_AVX512BW;
    f.avx512vl = b & bit_AVX512VL;
    f.avx512dq = b & bit_AVX512DQ;
    f.avx512vnni = c & bit_AVX512VNNI;
    f.avx512vbmi = c & bit_AVX512VBMI;
    f.gfni = c & bit_GFNI;
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    f.avx512bf16 = a1 & (1u << 5);
    // AMX-TILE (EDX bit 24) and AMX-BF16 (bit 22), tile state enabled in XCR0 (bits 17, 18).
    const bool amx_os = ((xcr0 >> 17) & 3) == 3;
    f.amx_bf16 = amx_os && (d & (1u << 24)) && (d & (1u << 22)) && amx_permitted();
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

std::vector<Isa> supported_isas() {
  const CpuFeatures& f = cpu_features();
  std::vector<Isa> isas{Isa::Scalar};
  const bool avx2 = f.avx2 && f.fma && f.f16c && f.bmi2;
  if (avx2) isas.push_back(Isa::Avx2);
  // VBMI (byte permutes and multishift) and GFNI (per-byte bit-field extraction) unpack every
  // packed bit width in a few instructions; every CPU with AVX512-BF16 has them except Cooper
  // Lake, which falls back to AVX2.
  if (avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512bf16 && f.avx512vnni &&
      f.avx512vbmi && f.gfni)
    isas.push_back(Isa::Avx512);
  return isas;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

Isa active_isa() {
  static const Isa chosen = [] {
    const std::vector<Isa> isas = supported_isas();
    const char* env = std::getenv("MXLM_ISA");
    if (!env || !*env) return isas.back();
    for (Isa isa : isas)
      if (isa_name(isa) == env) return isa;
    fail("MXLM_ISA={} is not one of the ISAs this CPU supports", env);
  }();
  return chosen;
}

}  // namespace mxlm
