// One accepted client connection, in plain POSIX sockets. Reads are buffered across the requests
// of a keep-alive connection and bounded by deadlines, so that a client trickling bytes cannot
// hold its thread for longer than the transport allows; reads and writes give up when the client
// sends or takes nothing for a while. Any thread may shut the socket down to end the connection
// (eviction, server stop). The transport (http_server.cpp) adapts it to the HTTP library's stream
// and lets request handlers ask whether the client has hung up during a long answer.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace mxlm::server {

class PeerSocket {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes ownership of `fd`. A read or write waits at most `io_timeout` for the client.
  PeerSocket(int fd, std::chrono::milliseconds io_timeout);
  // Closes the socket. When the client is still sending (a request answered before its body was
  // read), first drains that for a moment: closing with unread input makes the kernel reset the
  // connection, which can destroy the answer before the client reads it.
  ~PeerSocket();
  PeerSocket(const PeerSocket&) = delete;
  PeerSocket& operator=(const PeerSocket&) = delete;

  // Waits until the next request's first byte is here (or was read with the previous request).
  // False when the client closed, the socket was shut down, or `deadline` passed.
  bool wait_for_request(Clock::time_point deadline);

  enum class Head { kComplete, kClosed, kTimedOut, kTooLarge };
  // Buffers the request head (request line and headers, through the blank line that ends them),
  // reading until `deadline`, at most `max_bytes` of it.
  Head read_head(size_t max_bytes, Clock::time_point deadline);

  // Reads after the head (the body) fail once `deadline` passes.
  void set_read_deadline(Clock::time_point deadline) { read_deadline_ = deadline; }
  // Buffered bytes first, then the socket. 0 when the client closed, -1 on a timeout or error.
  ssize_t read(char* out, size_t size);
  // Writes some of `size` bytes; -1 when the client is gone or took nothing for the timeout.
  ssize_t write(const char* data, size_t size);
  bool write_all(const std::string& bytes);

  // True while blocked waiting for bytes from the client (between requests or within one).
  bool waiting() const { return waiting_; }
  // Called each time the socket starts waiting for the client, with waiting() already true.
  void on_wait(std::function<void()> f) { on_wait_ = std::move(f); }
  // The client has shut down its side or reset the connection.
  bool hung_up() const;
  // Ends the connection from any thread: blocked reads and writes return at once.
  void shut_down();

  // Asks the connection to close once the current answer is written.
  void end_after_answer() { ending_ = true; }
  bool ending() const { return ending_; }

  int fd() const { return fd_; }
  void remote_address(std::string& ip, int& port) const;
  void local_address(std::string& ip, int& port) const;

 private:
  enum class Fill { kData, kClosed, kTimedOut };
  Fill fill(Clock::time_point deadline);  // appends what the socket has, waiting until `deadline`
  size_t buffered() const { return in_.size() - in_at_; }

  int fd_;
  std::chrono::milliseconds io_timeout_;
  std::string in_;  // received bytes; those before in_at_ are consumed
  size_t in_at_ = 0;
  Clock::time_point read_deadline_ = Clock::time_point::max();
  std::function<void()> on_wait_;
  std::atomic<bool> waiting_{false}, shut_{false};
  bool ending_ = false;
};

}  // namespace mxlm::server
