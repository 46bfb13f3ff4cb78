#include "formats/npy.h"

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "core/error.h"

namespace mxlm::formats {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  size_t n = 1;
  for (int64_t d : shape) {
    dims += fmt::format("{}, ", d);
    n *= size_t(d);
  }
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // "(3, 4)" but "(3,)"
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) fail("cannot create {}", path);
  const uint8_t preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                uint8_t(header.size() & 0xff), uint8_t(header.size() >> 8)};
  bool ok = std::fwrite(preamble, 1, 10, out.get()) == 10 &&
            std::fwrite(header.data(), 1, header.size(), out.get()) == header.size() &&
            std::fwrite(data, sizeof(float), n, out.get()) == n;
  if (std::fclose(out.release()) != 0 || !ok) fail("writing {} failed", path);
}

}  // namespace mxlm::formats
