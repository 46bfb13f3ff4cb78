#include "server/peer_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace mxlm::server {
namespace {

using Clock = PeerSocket::Clock;

constexpr size_t kChunk = 16 << 10;  // bytes asked of the socket per read
constexpr auto kLinger = std::chrono::seconds(1);
constexpr size_t kDrainLimit = 1 << 20;

// poll() until `deadline`: > 0 ready, 0 timed out, < 0 failed.
int wait_until(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, int(std::clamp<int64_t>(left, 0, INT_MAX)));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

// The address of one end of `fd` as text and port: getpeername or getsockname.
template <typename GetName>
void address_of(int fd, GetName get_name, std::string& ip, int& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  char text[INET6_ADDRSTRLEN] = {};
  port = -1;
  if (get_name(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET) {
      const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
      inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
      port = ntohs(in.sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
      port = ntohs(in6.sin6_port);
    }
  }
  ip = text;
}

}  // namespace

PeerSocket::PeerSocket(int fd, std::chrono::milliseconds io_timeout) : fd_(fd), io_timeout_(io_timeout) {}

PeerSocket::~PeerSocket() {
  pollfd p{fd_, POLLIN, 0};
  if (!shut_ && (buffered() > 0 || poll(&p, 1, 0) > 0)) {
    ::shutdown(fd_, SHUT_WR);  // the answer is complete: the client sees its end
    const auto until = Clock::now() + kLinger;
    char discard[kChunk];
    size_t drained = 0;
    while (drained < kDrainLimit && wait_until(fd_, POLLIN, until) > 0) {
      const ssize_t n = recv(fd_, discard, sizeof(discard), 0);
      if (n <= 0) break;
      drained += size_t(n);
    }
  }
  ::close(fd_);
}

PeerSocket::Fill PeerSocket::fill(Clock::time_point deadline) {
  if (buffered() == 0) {
    in_.clear();
    in_at_ = 0;
  }
  waiting_ = true;
  if (on_wait_) on_wait_();
  const int ready = wait_until(fd_, POLLIN, deadline);
  waiting_ = false;
  if (ready == 0) return Fill::kTimedOut;
  if (ready < 0) return Fill::kClosed;
  const size_t old = in_.size();
  in_.resize(old + kChunk);
  ssize_t n;
  do n = recv(fd_, in_.data() + old, kChunk, 0);
  while (n < 0 && errno == EINTR);
  in_.resize(old + size_t(std::max<ssize_t>(n, 0)));
  return n > 0 ? Fill::kData : Fill::kClosed;
}

bool PeerSocket::wait_for_request(Clock::time_point deadline) {
  return buffered() > 0 || fill(deadline) == Fill::kData;
}

PeerSocket::Head PeerSocket::read_head(size_t max_bytes, Clock::time_point deadline) {
  if (in_at_ > 0) {  // the head starts the buffer
    in_.erase(0, in_at_);
    in_at_ = 0;
  }
  size_t from = 0;
  for (;;) {
    // The HTTP library ends the head at the first line that is exactly CRLF, which follows the
    // previous line's LF.
    const size_t end = in_.find("\n\r\n", from);
    if (end != std::string::npos) return end + 3 <= max_bytes ? Head::kComplete : Head::kTooLarge;
    if (in_.size() >= max_bytes) return Head::kTooLarge;
    from = in_.size() < 2 ? 0 : in_.size() - 2;
    switch (fill(deadline)) {
      case Fill::kData: break;
      case Fill::kClosed: return Head::kClosed;
      case Fill::kTimedOut: return Head::kTimedOut;
    }
  }
}

ssize_t PeerSocket::read(char* out, size_t size) {
  if (buffered() == 0) {
    switch (fill(std::min(read_deadline_, Clock::now() + io_timeout_))) {
      case Fill::kData: break;
      case Fill::kClosed: return 0;
      case Fill::kTimedOut: return -1;
    }
  }
  const size_t n = std::min(size, buffered());
  std::memcpy(out, in_.data() + in_at_, n);
  in_at_ += n;
  return ssize_t(n);
}

ssize_t PeerSocket::write(const char* data, size_t size) {
  // A client that has hung up will not read the rest; failing now stops its generation sooner
  // than waiting for the kernel to report the reset.
  if (hung_up() || wait_until(fd_, POLLOUT, Clock::now() + io_timeout_) <= 0) return -1;
  ssize_t n;
  do n = send(fd_, data, size, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : n;
}

bool PeerSocket::write_all(const std::string& bytes) {
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t n = write(bytes.data() + at, bytes.size() - at);
    if (n < 0) return false;
    at += size_t(n);
  }
  return true;
}

bool PeerSocket::hung_up() const {
  pollfd p{fd_, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void PeerSocket::shut_down() {
  if (!shut_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
}

void PeerSocket::remote_address(std::string& ip, int& port) const { address_of(fd_, getpeername, ip, port); }

void PeerSocket::local_address(std::string& ip, int& port) const { address_of(fd_, getsockname, ip, port); }

}  // namespace mxlm::server
