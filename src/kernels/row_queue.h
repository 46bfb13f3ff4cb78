// The output rows of one product, handed out in pieces to the workers that compute it. A kernel
// prepares its activations once and then claims pieces until none is left, so the rows follow the
// workers' actual speed: a worker on a slower or interrupted core simply claims fewer.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mxlm::kernels {

class RowQueue {
 public:
  // Rows [begin, end) as one piece.
  static RowQueue whole(size_t begin, size_t end) { return RowQueue(begin, end, 1, end - begin, kFixed); }

  // Rows [begin, end) as `workers` pieces of equal size (multiples of `align`, except the last):
  // for products whose per-piece set-up is costly (prefill packs its activations per piece).
  static RowQueue even(size_t begin, size_t end, size_t align, int workers) {
    return RowQueue(begin, end, align, per_worker(end - begin, align, workers), kFixed);
  }

  // Rows [begin, end) for `workers` workers, each claim taking 1/(2·workers) of the rows left:
  // long pieces first, so the weights stream in long runs, then shorter ones down to `min_rows`
  // (raised to a multiple of `align`, lowered to one worker's share), so the workers finish
  // together. One worker takes the whole range at once.
  static RowQueue guided(size_t begin, size_t end, size_t align, int workers, size_t min_rows) {
    if (workers <= 1) return whole(begin, end);
    const size_t share = per_worker(end - begin, align, workers);
    const size_t least = std::min(share, std::max(align, (min_rows + align - 1) / align * align));
    return RowQueue(begin, end, align, least, 2 * size_t(workers));
  }

  // Claims the next piece as [begin, end); false once every row has been claimed. Safe to call
  // from any number of threads at once.
  bool claim(size_t& begin, size_t& end) {
    size_t b = next_.load(std::memory_order_relaxed), e = 0;
    do {
      if (b >= end_) return false;
      const size_t want = std::max(min_rows_, (end_ - b) / divisor_);
      e = std::min(end_, b + (want + align_ - 1) / align_ * align_);
    } while (!next_.compare_exchange_weak(b, e, std::memory_order_relaxed));
    begin = b;
    end = e;
    return true;
  }

  RowQueue(const RowQueue&) = delete;
  RowQueue& operator=(const RowQueue&) = delete;

 private:
  static constexpr size_t kFixed = SIZE_MAX;  // divisor that leaves every piece min_rows long

  RowQueue(size_t begin, size_t end, size_t align, size_t min_rows, size_t divisor)
      : next_(begin), end_(end), align_(std::max<size_t>(align, 1)), min_rows_(std::max<size_t>(min_rows, 1)), divisor_(divisor) {}

  // ceil(n / workers) rounded up to a multiple of align.
  static size_t per_worker(size_t n, size_t align, int workers) {
    align = std::max<size_t>(align, 1);
    const size_t units = (n + align - 1) / align, w = size_t(std::max(workers, 1));
    return (units + w - 1) / w * align;
  }

  std::atomic<size_t> next_;
  size_t end_, align_, min_rows_, divisor_;
};

}  // namespace mxlm::kernels
