// The process's pool of worker threads. Kernels receive it explicitly and split their work into
// tasks; they never start threads of their own.
//
// Workers wait for work by spinning briefly and then sleeping on a futex, so back-to-back small
// kernels (a decode step is a few hundred of them) start without a system call, while a machine
// shared with other busy processes does not lose its cores to idle spinning.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace mxlm {

class ThreadPool {
 public:
  // n_threads <= 0 means one thread per available core. The calling thread is worker 0.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(task, worker) for every task in [0, n_tasks); tasks are spread evenly and
  // contiguously over the workers, worker is in [0, size()). Calls from several threads are
  // serialised; a call from inside a task runs serially on the calling worker.
  void parallel_for(size_t n_tasks, const std::function<void(size_t task, int worker)>& fn) const;

  // Splits [0, n) into at most size() contiguous ranges whose boundaries are multiples of
  // `align` (except the last) and calls fn(begin, end, worker) for each.
  void parallel_ranges(size_t n, size_t align,
                       const std::function<void(size_t begin, size_t end, int worker)>& fn) const;

  static int available_cores();

 private:
  struct Shared;
  int n_threads_;
  std::unique_ptr<Shared> shared_;
  std::vector<std::thread> workers_;
};

}  // namespace mxlm
