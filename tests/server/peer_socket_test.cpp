// A client connection's reads over a socket pair: the request head is buffered whole before the
// HTTP library parses it, the bytes after it stay readable in order, and a head that trickles,
// overflows or stops short ends the wait with the matching result.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>

#include "server/peer_socket.h"

namespace mxlm::server {
namespace {

using namespace std::chrono_literals;
using Clock = PeerSocket::Clock;
using Head = PeerSocket::Head;

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = std::make_unique<PeerSocket>(fds[0], 1s);
    client = fds[1];
  }
  ~Pair() {
    if (client >= 0) close(client);
  }
  void send(const std::string& bytes) const { ASSERT_EQ(::write(client, bytes.data(), bytes.size()), ssize_t(bytes.size())); }
  // Reads `n` bytes the way the HTTP library does, in small pieces.
  std::string read(size_t n) const {
    std::string out;
    char piece[3];
    while (out.size() < n) {
      const ssize_t got = server->read(piece, std::min(sizeof(piece), n - out.size()));
      if (got <= 0) break;
      out.append(piece, size_t(got));
    }
    return out;
  }
  std::unique_ptr<PeerSocket> server;
  int client = -1;
};

TEST(ServerPeerSocket, BuffersTheHeadAndKeepsTheBodyAfterIt) {
  Pair p;
  const std::string head = "POST /tokenize HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
  p.send(head + "BODY");
  ASSERT_TRUE(p.server->wait_for_request(Clock::now() + 1s));
  EXPECT_EQ(p.server->read_head(1024, Clock::now() + 1s), Head::kComplete);
  EXPECT_EQ(p.read(head.size() + 4), head + "BODY");
}

TEST(ServerPeerSocket, AssemblesAHeadSentInPieces) {
  Pair p;
  auto reader = std::async(std::launch::async, [&] {
    p.server->wait_for_request(Clock::now() + 5s);
    return p.server->read_head(1024, Clock::now() + 5s);
  });
  // The blank line is split across writes, so it is found across reads.
  for (const char* piece : {"GET /health HTTP/1.1\r\n", "Host: x\r", "\n\r", "\n"}) {
    p.send(piece);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(reader.get(), Head::kComplete);
  const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(p.read(head.size()), head);
}

TEST(ServerPeerSocket, ServesPipelinedRequestsInOrder) {
  Pair p;
  const std::string first = "GET /a HTTP/1.1\r\n\r\n", second = "GET /b HTTP/1.1\r\n\r\n";
  p.send(first + second);
  ASSERT_TRUE(p.server->wait_for_request(Clock::now() + 1s));
  ASSERT_EQ(p.server->read_head(1024, Clock::now() + 1s), Head::kComplete);
  EXPECT_EQ(p.read(first.size()), first);
  // The second request was read with the first: no wait for the socket.
  ASSERT_TRUE(p.server->wait_for_request(Clock::now()));
  ASSERT_EQ(p.server->read_head(1024, Clock::now()), Head::kComplete);
  EXPECT_EQ(p.read(second.size()), second);
}

TEST(ServerPeerSocket, EndsAHeadThatIsTooLargeLateOrCutShort) {
  {
    Pair p;
    p.send("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n");
    ASSERT_TRUE(p.server->wait_for_request(Clock::now() + 1s));
    EXPECT_EQ(p.server->read_head(64, Clock::now() + 1s), Head::kTooLarge);
  }
  {
    Pair p;
    p.send("GET / HTTP/1.1\r\nX-Slow: a");
    ASSERT_TRUE(p.server->wait_for_request(Clock::now() + 1s));
    EXPECT_EQ(p.server->read_head(1024, Clock::now() + 100ms), Head::kTimedOut);
  }
  {
    Pair p;
    p.send("GET / HTTP/1.1\r\n");
    shutdown(p.client, SHUT_WR);
    ASSERT_TRUE(p.server->wait_for_request(Clock::now() + 1s));
    EXPECT_EQ(p.server->read_head(1024, Clock::now() + 1s), Head::kClosed);
  }
}

TEST(ServerPeerSocket, BodyReadsStopAtTheirDeadline) {
  Pair p;
  p.send("GET / HTTP/1.1\r\n\r\nab");
  ASSERT_TRUE(p.server->wait_for_request(Clock::now() + 1s));
  ASSERT_EQ(p.server->read_head(1024, Clock::now() + 1s), Head::kComplete);
  p.server->set_read_deadline(Clock::now() + 100ms);
  EXPECT_EQ(p.read(20), "GET / HTTP/1.1\r\n\r\nab");  // what was sent, then the deadline
  char c;
  EXPECT_EQ(p.server->read(&c, 1), -1);
}

TEST(ServerPeerSocket, ShutDownFromAnotherThreadEndsAWait) {
  Pair p;
  auto waiter = std::async(std::launch::async, [&] { return p.server->wait_for_request(Clock::now() + 30s); });
  for (const auto until = Clock::now() + 5s; !p.server->waiting() && Clock::now() < until;) std::this_thread::yield();
  ASSERT_TRUE(p.server->waiting());
  p.server->shut_down();
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(waiter.get());
  EXPECT_FALSE(p.server->waiting());
}

TEST(ServerPeerSocket, NoticesAClientThatHangsUp) {
  Pair p;
  EXPECT_FALSE(p.server->hung_up());
  close(p.client);
  p.client = -1;
  EXPECT_TRUE(p.server->hung_up());
  EXPECT_EQ(p.server->write("x", 1), -1);
}

}  // namespace
}  // namespace mxlm::server
