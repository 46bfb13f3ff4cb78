#include "server/scheduler.h"

#include <chrono>

#include "server/api_error.h"

namespace mxlm::server {

Lease::~Lease() {
  if (scheduler_) scheduler_->release(slot_);
}

session::Session& Lease::session() { return *scheduler_->slots_[slot_].session; }

Ticket::~Ticket() {
  if (scheduler_) scheduler_->leave_queue(id_);
}

std::optional<Lease> Ticket::wait(const std::function<bool()>& keep_waiting) {
  Scheduler& s = *scheduler_;
  std::unique_lock lock(s.mutex_);
  for (;;) {
    if (s.stopping_) return std::nullopt;
    // First in line and a slot free: take it. FIFO order keeps a long queue fair.
    if (!s.queue_.empty() && s.queue_.front() == id_) {
      const size_t slot = s.pick_slot(key_);
      if (slot < s.slots_.size()) {
        s.queue_.pop_front();
        Scheduler::Slot& chosen = s.slots_[slot];
        chosen.busy = true;
        chosen.key = std::move(key_);
        chosen.last_used = ++s.clock_;
        scheduler_ = nullptr;  // no longer queued: the lease owns the slot now
        s.changed_.notify_all();
        return Lease(&s, slot);
      }
    }
    if (s.changed_.wait_for(lock, std::chrono::seconds(1)) == std::cv_status::timeout && keep_waiting) {
      // The callback may write to a socket; never do that holding the scheduler's lock.
      lock.unlock();
      const bool wanted = keep_waiting();
      lock.lock();
      if (!wanted) return std::nullopt;  // the destructor leaves the queue
    }
  }
}

Scheduler::Scheduler(std::shared_ptr<session::Engine> engine, const SchedulerOptions& options)
    : engine_(std::move(engine)), options_(options) {
  if (options_.slots == 0) options_.slots = 1;
  for (size_t i = 0; i < options_.slots; ++i) {
    Slot slot;
    slot.session = std::make_unique<session::Session>(engine_, options_.session);
    slots_.push_back(std::move(slot));
  }
  context_length_ = slots_.front().session->context_length();
}

Scheduler::~Scheduler() { cancel_all(); }

Ticket Scheduler::enqueue(std::string affinity_key) {
  std::lock_guard lock(mutex_);
  if (stopping_) throw ApiError(503, "The server is shutting down", "unavailable_error");
  size_t free = 0;
  for (const Slot& s : slots_) free += s.busy ? 0 : 1;
  // Requests already in line get the free slots first; only the excess has to wait.
  if (queue_.size() >= free + options_.max_queue)
    throw ApiError(429, "The server is busy: every slot is in use and the queue is full; retry later",
                   "rate_limit_error", "", "server_busy");
  const uint64_t id = ++next_ticket_;
  queue_.push_back(id);
  return Ticket(this, id, std::move(affinity_key));
}

size_t Scheduler::pick_slot(const std::string& key) const {
  size_t best = slots_.size(), best_common = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.busy) continue;
    const size_t n = std::min(key.size(), s.key.size());
    size_t common = 0;
    while (common < n && key[common] == s.key[common]) ++common;
    // Longest shared prefix wins; among equals, the least recently used slot, so that
    // unrelated conversations spread out instead of evicting each other's caches.
    if (best == slots_.size() || common > best_common ||
        (common == best_common && s.last_used < slots_[best].last_used)) {
      best = i;
      best_common = common;
    }
  }
  return best;
}

void Scheduler::release(size_t slot) {
  std::lock_guard lock(mutex_);
  slots_[slot].busy = false;
  changed_.notify_all();
}

void Scheduler::leave_queue(uint64_t id) {
  std::lock_guard lock(mutex_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it)
    if (*it == id) {
      queue_.erase(it);
      break;
    }
  changed_.notify_all();
}

void Scheduler::cancel_all() {
  std::lock_guard lock(mutex_);
  stopping_ = true;  // queued requests must not start new generations during shutdown
  changed_.notify_all();
  for (Slot& s : slots_)
    if (s.busy) s.session->cancel();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mutex_);
  SchedulerStats st;
  st.slots = slots_.size();
  for (const Slot& s : slots_) st.busy += s.busy ? 1 : 0;
  st.queued = queue_.size();
  st.decode = engine_->batcher.stats();
  return st;
}

}  // namespace mxlm::server
