// The connection budget: a new connection that finds every thread taken evicts the connection
// that has waited longest for its client, never one whose request is being answered.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>

#include "server/connection_pool.h"

namespace mxlm::server {
namespace {

using namespace std::chrono_literals;
using Clock = PeerSocket::Clock;

// A connection served by a pool job: the job registers it and waits for a request that never
// comes, as an idle client's connection does, until it is evicted.
struct IdleConnection {
  IdleConnection() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = std::make_unique<PeerSocket>(fds[0], 1s);
    client = fds[1];
  }
  ~IdleConnection() { close(client); }
  std::function<void()> job(ConnectionPool& pool) {
    return [this, &pool] {
      ConnectionPool::Member member(pool, *server);
      member.idle();
      got_request = server->wait_for_request(Clock::now() + 30s);
      ended.set_value();
    };
  }
  bool waiting_within(std::chrono::seconds limit) const {
    for (const auto until = Clock::now() + limit; Clock::now() < until; std::this_thread::sleep_for(1ms))
      if (server->waiting()) return true;
    return false;
  }
  std::unique_ptr<PeerSocket> server;
  int client = -1;
  std::atomic<bool> got_request{true};
  std::promise<void> ended;
};

TEST(ServerConnectionPool, ANewConnectionEvictsTheLongestWaiting) {
  ConnectionPool pool(2);
  IdleConnection older, newer;
  auto older_ended = older.ended.get_future(), newer_ended = newer.ended.get_future();
  pool.submit(older.job(pool));
  ASSERT_TRUE(older.waiting_within(5s));
  pool.submit(newer.job(pool));
  ASSERT_TRUE(newer.waiting_within(5s));

  std::promise<void> third_ran;
  pool.submit([&] { third_ran.set_value(); });
  ASSERT_EQ(older_ended.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(older.got_request);
  ASSERT_EQ(third_ran.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(newer_ended.wait_for(0s), std::future_status::timeout);  // still connected
  EXPECT_TRUE(newer.server->waiting());
  newer.server->shut_down();
  newer_ended.wait();
}

TEST(ServerConnectionPool, AConnectionBeingAnsweredIsNeverEvicted) {
  ConnectionPool pool(1);
  IdleConnection answering;
  std::promise<void> answered, started;
  std::shared_future<void> release = answered.get_future().share();
  pool.submit([&] {
    ConnectionPool::Member member(pool, *answering.server);
    started.set_value();
    release.wait();  // a handler at work: not waiting for its client
  });
  started.get_future().wait();
  std::atomic<bool> second_ran{false};
  pool.submit([&] { second_ran = true; });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(second_ran);  // queued behind the answer, which kept its socket
  EXPECT_FALSE(answering.server->hung_up());
  answered.set_value();
  pool.shutdown();  // runs what was queued
  EXPECT_TRUE(second_ran);
}

// A job that answers a request (blocked until `answer_done`), then waits for the next one.
std::function<void()> answer_then_wait(ConnectionPool& pool, IdleConnection& c, std::promise<void>& answering,
                                       std::shared_future<void> answer_done) {
  return [&pool, &c, &answering, answer_done] {
    ConnectionPool::Member member(pool, *c.server);
    answering.set_value();
    answer_done.wait();
    c.got_request = member.idle() && c.server->wait_for_request(Clock::now() + 30s);
    c.ended.set_value();
  };
}

TEST(ServerConnectionPool, AConnectionThatStartsWaitingMakesRoomForAQueuedOne) {
  ConnectionPool pool(1);
  IdleConnection c;
  std::promise<void> answering, done;
  auto ended = c.ended.get_future();
  pool.submit(answer_then_wait(pool, c, answering, done.get_future().share()));
  answering.get_future().wait();
  std::promise<void> queued_ran;
  pool.submit([&] { queued_ran.set_value(); });  // no thread: the only one is answering
  done.set_value();
  ASSERT_EQ(ended.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(c.got_request);
  EXPECT_EQ(queued_ran.get_future().wait_for(5s), std::future_status::ready);
}

TEST(ServerConnectionPool, ShutdownEndsConnectionsAsTheyStartToWait) {
  ConnectionPool pool(1);
  IdleConnection c;
  std::promise<void> answering, done;
  auto ended = c.ended.get_future();
  pool.submit(answer_then_wait(pool, c, answering, done.get_future().share()));
  answering.get_future().wait();
  auto stopping = std::async(std::launch::async, [&] { pool.shutdown(); });
  std::this_thread::sleep_for(50ms);  // shutdown has begun; the answer is still in progress
  done.set_value();
  ASSERT_EQ(ended.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(c.got_request);
  EXPECT_EQ(stopping.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace mxlm::server
