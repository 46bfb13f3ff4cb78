#include "core/thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace mxlm {
namespace {

// About 50 µs of polling before a waiting thread goes to sleep.
constexpr int kSpinRounds = 2000;

thread_local const ThreadPool* t_running_in = nullptr;

template <class T, class Pred>
void spin_then_wait(const std::atomic<T>& a, T old, Pred done) {
  for (int i = 0; i < kSpinRounds; ++i) {
    if (done(a.load(std::memory_order_acquire))) return;
    _mm_pause();
  }
  T v;
  while (!done(v = a.load(std::memory_order_acquire))) a.wait(v, std::memory_order_acquire);
  (void)old;
}

}  // namespace

struct ThreadPool::Shared {
  std::mutex caller;                  // one parallel_for at a time
  std::atomic<uint64_t> generation{0};  // bumped to publish a job
  std::atomic<int> pending{0};        // workers that have not finished the current job
  const std::function<void(size_t, int)>* fn = nullptr;
  size_t n_tasks = 0;
  int n_active = 0;
  bool stop = false;
};

static void run_share(const std::function<void(size_t, int)>& fn, size_t n_tasks, int n_active, int w) {
  const size_t begin = n_tasks * size_t(w) / size_t(n_active);
  const size_t end = n_tasks * size_t(w + 1) / size_t(n_active);
  for (size_t t = begin; t < end; ++t) fn(t, w);
}

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads > 0 ? n_threads : available_cores()), shared_(std::make_unique<Shared>()) {
  for (int w = 1; w < n_threads_; ++w)
    workers_.emplace_back([this, w] {
      Shared& s = *shared_;
      t_running_in = this;
      uint64_t seen = 0;
      while (true) {
        spin_then_wait(s.generation, seen, [seen](uint64_t g) { return g != seen; });
        seen = s.generation.load(std::memory_order_acquire);
        if (s.stop) return;
        if (w < s.n_active) run_share(*s.fn, s.n_tasks, s.n_active, w);
        // Every worker acknowledges every job, so none can read the next job's parameters
        // while still looking at this one.
        if (s.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) s.pending.notify_one();
      }
    });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(shared_->caller);
    shared_->stop = true;
    shared_->generation.fetch_add(1, std::memory_order_acq_rel);
    shared_->generation.notify_all();
  }
  for (std::thread& t : workers_) t.join();
}

int ThreadPool::available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, int(std::thread::hardware_concurrency()));
}

void ThreadPool::parallel_for(size_t n_tasks, const std::function<void(size_t, int)>& fn) const {
  if (n_tasks == 0) return;
  const int n = int(std::min<size_t>(n_tasks, size_t(n_threads_)));
  if (n == 1 || t_running_in == this) {
    for (size_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  Shared& s = *shared_;
  std::lock_guard<std::mutex> lock(s.caller);
  s.fn = &fn;
  s.n_tasks = n_tasks;
  s.n_active = n;
  s.pending.store(n_threads_ - 1, std::memory_order_relaxed);
  s.generation.fetch_add(1, std::memory_order_acq_rel);
  s.generation.notify_all();
  const ThreadPool* outer = t_running_in;
  t_running_in = this;
  run_share(fn, n_tasks, n, 0);
  t_running_in = outer;
  spin_then_wait(s.pending, 0, [](int p) { return p == 0; });
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
