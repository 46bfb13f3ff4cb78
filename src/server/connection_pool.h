// The threads that serve client connections, one connection each, up to a budget of its own:
// the scheduler's slots and queue bound the requests being generated, this bounds connections.
// A connection that waits for its client (idle between requests, or still receiving one) holds
// its thread meanwhile. While a new connection finds no thread free, the connection that has
// been waiting longest is shut down to make room, so idle or slow clients can never keep others
// out; a connection whose request is being answered is never evicted.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "server/peer_socket.h"

namespace mxlm::server {

class ConnectionPool {
  struct Entry {
    PeerSocket* socket;
    PeerSocket::Clock::time_point since;  // when its current wait for the client began
    bool evicted = false;
  };

 public:
  explicit ConnectionPool(size_t max_threads);
  ~ConnectionPool();  // shutdown()

  // Runs `job` (serving one new connection) on a free thread, starting one while under the
  // budget, else once an evicted connection's thread is free.
  void submit(std::function<void()> job);
  // Ends the connections waiting for their client, now and whenever one starts to wait; those
  // answering a request close after it. Runs the jobs already submitted and joins the threads.
  void shutdown();
  // Shuts down the socket of every connection, answering or not: a stop that cannot wait.
  void shut_down_all();

  // A connection while a job serves it, known to the pool so that it can be evicted.
  class Member {
   public:
    Member(ConnectionPool& pool, PeerSocket& socket);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

    // The connection is about to wait for its next request; its wait counts from now. False
    // when the server is stopping and the connection should close instead.
    bool idle();
    // A request's first byte arrived: the wait for the rest counts from now.
    void request_started();

   private:
    ConnectionPool& pool_;
    std::list<Entry>::iterator entry_;
  };

 private:
  void work();
  void started_waiting(Entry& entry);
  // Evicts connections, longest waiting first, until every job has a thread or one coming;
  // caller holds mutex_.
  void make_room();

  const size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_threads_ = 0;
  size_t evicting_ = 0;  // evicted connections whose threads are not free yet
  bool stopping_ = false;
  std::list<Entry> members_;
};

}  // namespace mxlm::server
