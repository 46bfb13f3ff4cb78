// NumPy .npy files (format version 1.0), float32, C order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mxlm::formats {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace mxlm::formats
