// One traits type per quantized format: the facts of its stored layout (see qtensor.h) that the
// codecs, the checkpoint writer and binder, the size estimates and the kernels all rely on,
// written once. A new format is a new traits type here, a codec file and its kernels.
//
// The traits hold constants only, no functions: the ISA files (*_avx2.cpp, *_avx512.cpp)
// include this header, and an inline function instantiated there could be emitted with their
// encodings and picked by the linker for callers on older CPUs.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/error.h"
#include "quant/fp4.h"
#include "quant/fp8.h"
#include "quant/qtensor.h"

namespace mxlm::quant {

// How a format stores its group scales: one byte of an 8-bit float code, or the float type
// the affine scales (and biases) were written in.
enum class ScaleType : uint8_t { E4M3, E8M0, BF16, F16, F32 };

// MLX "affine": unsigned `bits`-wide codes, w ≈ scale·q + bias, scale and bias per group in a
// float type chosen at conversion (BF16, F16 or F32).
struct AffineFormat {
  static constexpr QuantMode kMode = QuantMode::Affine;
  static constexpr const char* kName = "affine";
  static constexpr int kBits = 4, kGroup = 64;  // MLX's defaults; others are allowed
  static constexpr bool kHasBiases = true;
};

// OCP MX "mxfp4": blocks of 32 E2M1 elements sharing an E8M0 scale.
struct Mxfp4Format {
  static constexpr QuantMode kMode = QuantMode::Mxfp4;
  static constexpr const char* kName = "mxfp4";
  static constexpr int kBits = 4, kGroup = 32;
  static constexpr bool kHasBiases = false;
  static constexpr ScaleType kScale = ScaleType::E8M0;
  static constexpr float kElementMax = kE2m1Max;
};

// NVIDIA "nvfp4": blocks of 16 E2M1 elements sharing an E4M3 scale, optionally (an mxlm
// extension MLX ignores) under a per-tensor fp32 global scale g: values decode as
// e2m1 · e4m3 · g / kGlobalScaleRange, so g = max|W| lets the largest block scale reach E4M3's
// maximum.
struct Nvfp4Format {
  static constexpr QuantMode kMode = QuantMode::Nvfp4;
  static constexpr const char* kName = "nvfp4";
  static constexpr int kBits = 4, kGroup = 16;
  static constexpr bool kHasBiases = false;
  static constexpr ScaleType kScale = ScaleType::E4M3;
  static constexpr float kElementMax = kE2m1Max;
  static constexpr float kGlobalScaleRange = kE4m3Max * kE2m1Max;  // 2688
  // The global scale is stored as the scalar tensor `<module>.weight_scale_2` holding
  // g / kGlobalScaleRange, as NVIDIA's format defines it; QTensor::global_scale is g itself,
  // MLX's convention.
  static constexpr const char* kGlobalScaleSuffix = ".weight_scale_2";
};

// OCP MX "mxfp8": blocks of 32 E4M3 elements sharing an E8M0 scale.
struct Mxfp8Format {
  static constexpr QuantMode kMode = QuantMode::Mxfp8;
  static constexpr const char* kName = "mxfp8";
  static constexpr int kBits = 8, kGroup = 32;
  static constexpr bool kHasBiases = false;
  static constexpr ScaleType kScale = ScaleType::E8M0;
  static constexpr float kElementMax = kE4m3Max;
};

// The one place a runtime mode becomes a static format type: f(AffineFormat{}) and so on.
// Float weights (mode None) have no format.
template <class F>
decltype(auto) visit_format(QuantMode mode, F&& f) {
  switch (mode) {
    case QuantMode::Affine: return f(AffineFormat{});
    case QuantMode::Mxfp4: return f(Mxfp4Format{});
    case QuantMode::Nvfp4: return f(Nvfp4Format{});
    case QuantMode::Mxfp8: return f(Mxfp8Format{});
    case QuantMode::None: break;
  }
  check_failed("mode != QuantMode::None", __FILE__, __LINE__);
}

// Whether a mode stores per-group biases (affine only).
bool has_biases(QuantMode mode);

// The stored type of a mode's scales (and biases): affine keeps `affine_type`, the 8-bit float
// scales of the other modes are U8.
DType stored_scale_dtype(QuantMode mode, DType affine_type);

// How a quantized tensor's scales are stored, from its mode and (affine) scale dtype.
ScaleType scale_type(const QTensor& w);

}  // namespace mxlm::quant
