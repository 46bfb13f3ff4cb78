#include "server/connection_pool.h"

#include <algorithm>

namespace mxlm::server {

ConnectionPool::ConnectionPool(size_t max_threads) : max_threads_(std::max<size_t>(max_threads, 1)) {}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::submit(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  jobs_.push_back(std::move(job));
  if (jobs_.size() > idle_threads_ && threads_.size() < max_threads_) {
    // Threads start only as connections need them; each keeps the stack it has touched.
    ++idle_threads_;  // until it takes its first job
    threads_.emplace_back([this] { work(); });
  }
  make_room();
  wake_.notify_one();
}

void ConnectionPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
    --idle_threads_;
    if (jobs_.empty()) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
    ++idle_threads_;
  }
}

void ConnectionPool::make_room() {
  while (jobs_.size() > idle_threads_ + evicting_) {
    Entry* oldest = nullptr;
    for (Entry& e : members_)
      if (!e.evicted && e.socket->waiting() && (!oldest || e.since < oldest->since)) oldest = &e;
    if (!oldest) return;  // every connection is being answered; the next to wait makes room
    oldest->evicted = true;
    ++evicting_;
    oldest->socket->shut_down();
  }
}

void ConnectionPool::started_waiting(Entry& entry) {
  std::lock_guard lock(mutex_);
  if (stopping_) entry.socket->shut_down();
  else make_room();
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (Entry& e : members_)
      if (e.socket->waiting()) e.socket->shut_down();
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& t : threads) t.join();
}

void ConnectionPool::shut_down_all() {
  std::lock_guard lock(mutex_);
  for (Entry& e : members_) e.socket->shut_down();
}

ConnectionPool::Member::Member(ConnectionPool& pool, PeerSocket& socket) : pool_(pool) {
  {
    std::lock_guard lock(pool_.mutex_);
    entry_ = pool_.members_.insert(pool_.members_.end(), Entry{&socket, PeerSocket::Clock::now()});
  }
  socket.on_wait([this] { pool_.started_waiting(*entry_); });
}

ConnectionPool::Member::~Member() {
  entry_->socket->on_wait(nullptr);
  std::lock_guard lock(pool_.mutex_);
  if (entry_->evicted) --pool_.evicting_;
  pool_.members_.erase(entry_);
}

bool ConnectionPool::Member::idle() {
  std::lock_guard lock(pool_.mutex_);
  entry_->since = PeerSocket::Clock::now();
  return !pool_.stopping_;
}

void ConnectionPool::Member::request_started() {
  std::lock_guard lock(pool_.mutex_);
  entry_->since = PeerSocket::Clock::now();
}

}  // namespace mxlm::server
