// The HTTP transport: routes, API-key check, JSON error bodies, and server-sent events, over
// cpp-httplib. It knows URLs and status codes; what a request means is Endpoints' business.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "server/endpoints.h"

namespace httplib {
class Server;
}

namespace mxlm::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port)
  std::string api_key;  // empty: no key required
  size_t threads = 16;  // connections served at once (streams hold one each)
};

class HttpServer {
 public:
  HttpServer(Endpoints& endpoints, const HttpOptions& options);
  ~HttpServer();

  // Binds and starts serving on a background thread; throws mxlm::Error when the address
  // cannot be bound.
  void start();
  void stop();
  int port() const { return port_; }

 private:
  void add_routes();

  Endpoints& endpoints_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mxlm::server
