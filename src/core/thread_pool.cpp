#include "core/thread_pool.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>

namespace mxlm {

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : available_cores()) {}

int ThreadPool::available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

void ThreadPool::parallel_for(size_t n_tasks,
                              const std::function<void(size_t, int)>& fn) const {
  if (n_tasks == 0) return;
  const int n = int(std::min<size_t>(n_tasks, size_t(n_threads_)));
  if (n == 1) {
    for (size_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
#pragma omp parallel num_threads(n)
  {
    const int w = omp_get_thread_num();
    const size_t begin = n_tasks * size_t(w) / size_t(n);
    const size_t end = n_tasks * size_t(w + 1) / size_t(n);
    for (size_t t = begin; t < end; ++t) fn(t, w);
  }
}

void ThreadPool::parallel_ranges(size_t n, size_t align,
                                 const std::function<void(size_t, size_t, int)>& fn) const {
  if (n == 0) return;
  align = std::max<size_t>(align, 1);
  const size_t units = (n + align - 1) / align;
  const int parts = int(std::min<size_t>(units, size_t(n_threads_)));
  parallel_for(size_t(parts), [&](size_t p, int worker) {
    const size_t begin = std::min(n, units * p / size_t(parts) * align);
    const size_t end = std::min(n, units * (p + 1) / size_t(parts) * align);
    if (begin < end) fn(begin, end, worker);
  });
}

}  // namespace mxlm
