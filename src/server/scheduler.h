// Which request runs on which session, and when. The server holds `slots` sessions over one
// shared Engine; a request takes a free slot or waits in a bounded FIFO queue, and a full
// queue is refused at once (429) rather than left to time out. Running requests are decoded
// together: the Engine's DecodeBatcher runs the next token of every generating slot in one
// batched pass, with prompt pieces in between. A slot keeps its prompt cache between requests, so a request goes to the free slot
// whose previous request shares the longest prefix with it (an agent's next turn lands where
// its conversation is cached).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "session/session.h"

namespace mxlm::server {

struct SchedulerOptions {
  size_t slots = 1;
  size_t max_queue = 32;  // requests allowed to wait for a slot
  session::SessionOptions session;
};

class Scheduler;

// A running request's hold on one slot; releases it when destroyed.
class Lease {
 public:
  Lease(Lease&& other) noexcept : scheduler_(other.scheduler_), slot_(other.slot_) { other.scheduler_ = nullptr; }
  Lease(const Lease&) = delete;
  ~Lease();
  session::Session& session();
  size_t slot() const { return slot_; }

 private:
  friend class Ticket;
  Lease(Scheduler* scheduler, size_t slot) : scheduler_(scheduler), slot_(slot) {}
  Scheduler* scheduler_;
  size_t slot_;
};

// A place in the queue, taken before the response starts so that a full queue can still be
// answered with 429. Leaves the queue when destroyed unless it became a Lease.
class Ticket {
 public:
  Ticket(Ticket&& other) noexcept : scheduler_(other.scheduler_), id_(other.id_), key_(std::move(other.key_)) {
    other.scheduler_ = nullptr;
  }
  Ticket(const Ticket&) = delete;
  ~Ticket();

  // Blocks until a slot is free and this ticket is first in line. `keep_waiting` is called
  // about once a second while waiting; when it returns false (the client left) the ticket gives
  // up and nothing is returned.
  std::optional<Lease> wait(const std::function<bool()>& keep_waiting = {});

 private:
  friend class Scheduler;
  Ticket(Scheduler* scheduler, uint64_t id, std::string key) : scheduler_(scheduler), id_(id), key_(std::move(key)) {}
  Scheduler* scheduler_;
  uint64_t id_;
  std::string key_;
};

struct SchedulerStats {
  size_t slots = 0, busy = 0, queued = 0;
  session::DecodeBatchStats decode;
};

class Scheduler {
 public:
  Scheduler(std::shared_ptr<session::Engine> engine, const SchedulerOptions& options);
  ~Scheduler();

  // Joins the queue. `affinity_key` is text whose common prefix with a slot's previous key
  // measures how much of the prompt that slot has cached (e.g. tools + messages serialized).
  // Throws ApiError 429 when the queue is full.
  Ticket enqueue(std::string affinity_key);

  // Shutdown: stops every generation in progress, empties the queue and refuses new requests.
  void cancel_all();

  bool stopping() const { return stopping_; }
  SchedulerStats stats() const;
  size_t context_length() const { return context_length_; }
  session::Engine& engine() { return *engine_; }

 private:
  friend class Lease;
  friend class Ticket;
  struct Slot {
    std::unique_ptr<session::Session> session;
    bool busy = false;
    std::string key;  // affinity key of the slot's last request
    uint64_t last_used = 0;
  };
  size_t pick_slot(const std::string& key) const;  // a free slot; caller holds mutex_
  void release(size_t slot);
  void leave_queue(uint64_t id);

  std::shared_ptr<session::Engine> engine_;
  SchedulerOptions options_;
  size_t context_length_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Slot> slots_;
  std::deque<uint64_t> queue_;  // waiting tickets, first come first served
  uint64_t next_ticket_ = 0;
  uint64_t clock_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace mxlm::server
