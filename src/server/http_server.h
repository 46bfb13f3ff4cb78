// The HTTP transport: connections, routes, API-key check, JSON error bodies, and server-sent
// events, over cpp-httplib. It knows sockets, URLs and status codes; what a request means is
// Endpoints' business.
//
// Each connection is served by its own thread (ConnectionPool) under deadlines: a request's head
// must arrive within 10 s of its first byte and the whole request within 60 s, and a connection
// idle for 30 s is closed. A connection answered with an error is closed after the answer, since
// the rest of its request may be unread.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "server/connection_pool.h"
#include "server/endpoints.h"

namespace mxlm::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port)
  std::string api_key;  // empty: no key required
  // Connections served at once, each holding a thread (a stream holds one throughout). Past
  // it, the connection that has waited longest for its client makes room for a new one.
  size_t connections = 64;
};

class HttpServer {
 public:
  HttpServer(Endpoints& endpoints, const HttpOptions& options);
  // stop(), then waits for every connection to end.
  ~HttpServer();

  // Binds and starts serving on a background thread; throws mxlm::Error when the address
  // cannot be bound.
  void start();
  // Stops accepting and ends idle connections. Answers in progress get `grace` to finish, then
  // their sockets are shut down too. False when a connection's thread is still busy after a
  // second `grace`: a generation that has not yet seen its cancellation (it notices at its next
  // token, after a prompt's prefill).
  bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));
  int port() const { return port_; }

 private:
  class Transport;  // the HTTP library's server, serving connections as described above

  void add_routes();

  Endpoints& endpoints_;
  HttpOptions options_;
  ConnectionPool pool_;
  std::unique_ptr<Transport> server_;
  std::future<void> listening_;
  int listen_fd_ = -1;
  int port_ = 0;
};

}  // namespace mxlm::server
