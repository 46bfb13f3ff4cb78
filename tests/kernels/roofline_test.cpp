// The read-bandwidth probe's inner loop must read every float once, whatever its stream order.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "kernels/roofline.h"

namespace mxlm::kernels {
namespace {

TEST(Roofline, ReadSumOfEveryIsaAddsEachFloatOnce) {
  const size_t n = 128 * 24;
  float* p = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  // Small integers, different in every position: the sums are exact in any order, and a float
  // read twice or skipped changes them.
  double want = 0;
  for (size_t i = 0; i < n; ++i) p[i] = float(i % 251) + float(i / 251) * 0.25f, want += double(p[i]);
  for (Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    const float got = isa == Isa::Avx512 ? read_sum_avx512(p, n) : isa == Isa::Avx2 ? read_sum_avx2(p, n) : read_sum_ref(p, n);
    EXPECT_EQ(double(got), want);
  }
  std::free(p);
}

}  // namespace
}  // namespace mxlm::kernels
