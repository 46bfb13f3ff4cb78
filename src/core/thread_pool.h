// The process's one pool of worker threads. Kernels receive it explicitly and split their
// work into tasks; they never start threads of their own.
#pragma once

#include <cstddef>
#include <functional>

namespace mxlm {

class ThreadPool {
 public:
  // n_threads <= 0 means one thread per available core.
  explicit ThreadPool(int n_threads = 0);
  int size() const { return n_threads_; }

  // Calls fn(task, worker) for every task in [0, n_tasks); tasks are spread evenly and
  // contiguously over the workers, worker is in [0, size()).
  void parallel_for(size_t n_tasks, const std::function<void(size_t task, int worker)>& fn) const;

  // Splits [0, n) into at most size() contiguous ranges whose boundaries are multiples of
  // `align` (except the last) and calls fn(begin, end, worker) for each.
  void parallel_ranges(size_t n, size_t align,
                       const std::function<void(size_t begin, size_t end, int worker)>& fn) const;

  static int available_cores();

 private:
  int n_threads_;
};

}  // namespace mxlm
