// The connected socket of a request, found by its peer's address and port, to notice a client
// that hangs up while its non-streamed answer is being generated (the HTTP library hands request
// handlers no socket). Valid while the handler runs: the library keeps the socket open until then.
#pragma once

#include <string>

namespace mxlm::server {

class PeerSocket {
 public:
  PeerSocket(const std::string& remote_addr, int remote_port);

  // The peer has shut down its side or reset the connection. False when the socket was not found.
  bool closed() const;

 private:
  int fd_ = -1;
};

}  // namespace mxlm::server
