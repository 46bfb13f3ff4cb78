#include "server/http_server.h"

#include <httplib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "server/anthropic_schema.h"
#include "server/api_key.h"
#include "server/web_page.h"

namespace mxlm::server {
namespace {

using json = nlohmann::ordered_json;
using httplib::Request;
using httplib::Response;
using Clock = PeerSocket::Clock;

constexpr auto kIdleTimeout = std::chrono::seconds(30);  // for a connection's next request
constexpr auto kHeadTimeout = std::chrono::seconds(10);  // from a request's first byte
constexpr auto kRequestTimeout = std::chrono::seconds(60);
constexpr auto kIoTimeout = std::chrono::seconds(10);  // for each read or write to make progress
constexpr size_t kMaxHeadBytes = 64 << 10;
constexpr size_t kMaxRequestsPerConnection = 1000;
// A 262144-token context is about 1 MiB of text; escaped, with tools and a long conversation, a
// request stays far below this, while each byte of a body can cost eight or more once parsed.
constexpr size_t kMaxBodyBytes = 32 << 20;
// Deeper JSON than any request needs would recurse through the stack when the body is walked.
constexpr int kMaxJsonDepth = 128;

// The connection the calling thread serves: the library runs a connection's handlers and its
// streaming content provider on that connection's thread, and hands them no socket.
thread_local PeerSocket* t_serving = nullptr;

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// An error body in the shape of the protocol a path belongs to.
using ErrorShape = json (*)(const ApiError&);
json openai_error(const ApiError& e) { return e.body(); }
ErrorShape error_shape(const std::string& path) {
  return path.rfind("/v1/messages", 0) == 0 ? anthropic_error_json : openai_error;
}

void send_error(Response& res, const ApiError& e, ErrorShape shape = openai_error) {
  send_json(res, e.status(), shape(e));
}

// An error answered before the library has a request to answer (the head never arrived whole).
void answer_and_close(PeerSocket& peer, int status, const char* reason, const std::string& message) {
  const std::string body = ApiError(status, message).body().dump();
  peer.write_all(fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                             "Connection: close\r\n\r\n{}",
                             status, reason, body.size(), body));
  std::fprintf(stderr, "%d %s\n", status, message.c_str());
}

// Runs a handler body, answering every failure with an error object (OpenAI's unless `shape`
// says otherwise): ApiError as itself, other user errors (mxlm::Error, e.g. a chat template
// rejecting the conversation) as 400, anything else as 500. Returns false when it answered an
// error.
template <typename F>
bool guarded(Response& res, F&& body, ErrorShape shape = openai_error) {
  try {
    body();
    return true;
  } catch (const ApiError& e) {
    send_error(res, e, shape);
  } catch (const Error& e) {
    send_error(res, ApiError(400, e.what()), shape);
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, fmt::format("internal error: {}", e.what()), "server_error"), shape);
  }
  return false;
}

json parse_body(const Request& req) {
  const auto bounded_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth)
      throw ApiError(400, fmt::format("The request body nests JSON deeper than {} levels", kMaxJsonDepth),
                     "invalid_request_error", "", "invalid_json");
    return true;
  };
  try {
    return json::parse(req.body, bounded_depth);
  } catch (const json::exception& e) {  // a syntax error, or a number out of range (1e400)
    throw ApiError(400, fmt::format("The request body is not valid JSON: {}", e.what()), "invalid_request_error", "",
                   "invalid_json");
  }
}

bool is_public(const std::string& path) { return path == "/" || path == "/health" || path == "/v1/health"; }

// The library's stream over a PeerSocket.
class PeerStream final : public httplib::Stream {
 public:
  explicit PeerStream(PeerSocket& peer) : peer_(peer) {}
  bool is_readable() const override { return !peer_.hung_up(); }
  bool is_writable() const override { return !peer_.hung_up(); }
  ssize_t read(char* ptr, size_t size) override { return peer_.read(ptr, size); }
  ssize_t write(const char* ptr, size_t size) override { return peer_.write(ptr, size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { peer_.remote_address(ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { peer_.local_address(ip, port); }
  socket_t socket() const override { return peer_.fd(); }

 private:
  PeerSocket& peer_;
};

// The library's queue of accepted connections, handing each to the pool.
class PoolQueue final : public httplib::TaskQueue {
 public:
  explicit PoolQueue(ConnectionPool& pool) : pool_(pool) {}
  void enqueue(std::function<void()> fn) override { pool_.submit(std::move(fn)); }
  void shutdown() override { pool_.shutdown(); }

 private:
  ConnectionPool& pool_;
};

}  // namespace

// The library's own connection loop waits up to its read timeout for each byte, without a
// deadline for the whole request, and reads a request line of any length into memory; this one
// reads each head into a bounded buffer under a deadline before the library parses it.
class HttpServer::Transport : public httplib::Server {
 public:
  explicit Transport(ConnectionPool& pool) : pool_(pool) {}
  // Takes the listening socket from the library, which then stops accepting once it is shut
  // down, whether or not its loop has begun.
  int take_listener() { return svr_sock_.exchange(INVALID_SOCKET); }
  // The library listens with a backlog of 5; a burst of connections overflows it, and the
  // kernel then retries their handshakes for seconds. Listening again changes the backlog.
  void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }

 private:
  bool process_and_close_socket(socket_t sock) override;

  ConnectionPool& pool_;
};

bool HttpServer::Transport::process_and_close_socket(socket_t sock) {
  PeerSocket peer(sock, kIoTimeout);
  // The library, built with select(), answers 500 for a descriptor past select's limit.
  if (sock >= FD_SETSIZE) {
    answer_and_close(peer, 503, "Service Unavailable", "Too many connections; retry later");
    return false;
  }
  ConnectionPool::Member member(pool_, peer);
  PeerStream stream(peer);
  t_serving = &peer;
  for (size_t n = 1; member.idle() && peer.wait_for_request(Clock::now() + kIdleTimeout); ++n) {
    member.request_started();
    const auto start = Clock::now();
    const PeerSocket::Head head = peer.read_head(kMaxHeadBytes, start + kHeadTimeout);
    if (head == PeerSocket::Head::kTimedOut)
      answer_and_close(peer, 408, "Request Timeout",
                       fmt::format("The request head did not arrive within {} s", kHeadTimeout.count()));
    if (head == PeerSocket::Head::kTooLarge)
      answer_and_close(peer, 431, "Request Header Fields Too Large",
                       fmt::format("The request head is larger than {} KiB", kMaxHeadBytes >> 10));
    if (head != PeerSocket::Head::kComplete) break;
    peer.set_read_deadline(start + kRequestTimeout);
    bool closed = false;
    const bool last = n == kMaxRequestsPerConnection;
    if (!process_request(stream, last, closed, nullptr) || closed || last || peer.ending()) break;
  }
  t_serving = nullptr;
  return true;
}

HttpServer::HttpServer(Endpoints& endpoints, const HttpOptions& options)
    : endpoints_(endpoints), options_(options), pool_(options.connections), server_(std::make_unique<Transport>(pool_)) {
  server_->new_task_queue = [this] { return new PoolQueue(pool_); };
  server_->set_payload_max_length(kMaxBodyBytes);
  // What the Keep-Alive header announces; the connection loop above enforces it.
  server_->set_keep_alive_timeout(kIdleTimeout.count());
  server_->set_keep_alive_max_count(kMaxRequestsPerConnection);
  // The library sets these as the accepted socket's SO_RCVTIMEO and SO_SNDTIMEO.
  server_->set_read_timeout(kIoTimeout);
  server_->set_write_timeout(kIoTimeout);
  // httplib's default adds SO_REUSEPORT, which lets a second server bind the same port and
  // silently take half the connections; a port in use must be an error.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  add_routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::add_routes() {
  httplib::Server& s = *server_;
  std::optional<ApiKey> key;
  if (!options_.api_key.empty()) key.emplace(options_.api_key);
  s.set_pre_routing_handler([key](const Request& req, Response& res) {
    // `curl -d` labels JSON as a form, and httplib refuses forms over 8 KiB (413) while it reads
    // the body, which happens after this handler. Every body here is JSON, so say so.
    if (req.get_header_value("Content-Type") == "application/x-www-form-urlencoded") {
      auto& headers = const_cast<httplib::Headers&>(req.headers);
      headers.erase("Content-Type");
      headers.emplace("Content-Type", "application/json");
    }
    if (!key || is_public(req.path) || key->accepts(req.get_header_value("Authorization"), req.get_header_value("x-api-key")))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "Invalid API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'",
                             "authentication_error", "", "invalid_api_key"),
               error_shape(req.path));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Unknown paths (clients probe /api/tags, /props, /version to fingerprint servers) and
  // transport-level failures get a JSON body too; handlers' own errors already have one.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404)
      send_error(res, ApiError(404, fmt::format("Unknown path: {} {}", req.method, req.path), "invalid_request_error",
                               "", "not_found"), error_shape(req.path));
    else
      send_error(res, ApiError(res.status, fmt::format("HTTP error {}", res.status)), error_shape(req.path));
    return httplib::Server::HandlerResponse::Handled;
  }));
  // After an error the rest of the request may be unread (a 401 is sent before the body is
  // read, a body past its deadline is cut short); reading on would take it for a new request.
  s.set_post_routing_handler([](const Request&, Response& res) {
    if (res.status < 400) return;
    res.headers.erase("Keep-Alive");
    res.set_header("Connection", "close");
    if (t_serving) t_serving->end_after_answer();
  });
  s.set_exception_handler([](const Request& req, Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "internal error", "server_error"), error_shape(req.path));
  });
  s.set_logger([](const Request& req, const Response& res) {
    if (req.path != "/health") std::fprintf(stderr, "%s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
  });

  Endpoints& ep = endpoints_;
  s.Get("/", [](const Request&, Response& res) {
    const std::string_view page = web_page_html();
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
  auto health = [&ep](const Request&, Response& res) {
    if (ep.ready()) send_json(res, 200, {{"status", "ok"}});
    else send_error(res, ApiError(503, "Loading model", "unavailable_error"));
  };
  s.Get("/health", health);
  s.Get("/v1/health", health);
  auto models = [&ep](const Request&, Response& res) { guarded(res, [&] { send_json(res, 200, ep.models()); }); };
  s.Get("/v1/models", models);
  s.Get("/models", models);
  s.Get(R"(/v1/models/(.+))", [&ep](const Request& req, Response& res) {
    guarded(res, [&] { send_json(res, 200, ep.model(req.matches[1])); });
  });

  // Generations (chat and text completions, messages, responses): a JSON answer, or SSE
  // written by a chunked content provider, which runs after the handler returns, on the same
  // connection thread.
  using Make = std::unique_ptr<Generation> (Endpoints::*)(const json&);
  auto generation = [&ep](Make make, ErrorShape shape = openai_error) {
    return [&ep, make, shape](const Request& req, Response& res) {
      std::shared_ptr<Generation> g;
      // Refused before it starts, a request counts as failed here; once started, the
      // Generation counts its own end, failed or cancelled, once.
      if (!guarded(res, [&] { g = (ep.*make)(parse_body(req)); }, shape)) {
        ep.metrics().request_failed();
        return;
      }
      if (!g->stream()) {
        const PeerSocket* peer = t_serving;
        guarded(res, [&] { send_json(res, 200, g->run([peer] { return !peer || !peer->hung_up(); })); }, shape);
        return;
      }
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Accel-Buffering", "no");
      res.set_chunked_content_provider("text/event-stream", [g](size_t, httplib::DataSink& sink) {
        g->run_stream([&sink](const std::string& bytes) { return sink.write(bytes.data(), bytes.size()); });
        sink.done();
        return true;
      });
    };
  };
  s.Post("/v1/chat/completions", generation(&Endpoints::chat_completion));
  s.Post("/chat/completions", generation(&Endpoints::chat_completion));
  s.Post("/v1/completions", generation(&Endpoints::completion));
  s.Post("/completions", generation(&Endpoints::completion));
  s.Post("/v1/messages", generation(&Endpoints::messages, anthropic_error_json));
  s.Post("/v1/messages/count_tokens", [&ep](const Request& req, Response& res) {
    guarded(res, [&] { send_json(res, 200, ep.count_message_tokens(parse_body(req))); }, anthropic_error_json);
  });
  s.Post("/v1/responses", generation(&Endpoints::responses));
  s.Post("/responses", generation(&Endpoints::responses));

  s.Post("/tokenize", [&ep](const Request& req, Response& res) {
    guarded(res, [&] { send_json(res, 200, ep.tokenize(parse_body(req))); });
  });
  s.Post("/detokenize", [&ep](const Request& req, Response& res) {
    guarded(res, [&] { send_json(res, 200, ep.detokenize(parse_body(req))); });
  });
  s.Get("/metrics", [&ep](const Request&, Response& res) {
    guarded(res, [&] { res.set_content(ep.metrics_text(), "text/plain; version=0.0.4"); });
  });
}

void HttpServer::start() {
  Transport& s = *server_;
  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
    if (port_ < 0) fail("cannot listen on {} (any port)", options_.host);
  } else {
    if (!s.bind_to_port(options_.host, options_.port)) fail("cannot listen on {}:{} (in use?)", options_.host, options_.port);
    port_ = options_.port;
  }
  s.widen_backlog();
  listening_ = std::async(std::launch::async, [&s] { s.listen_after_bind(); });
}

bool HttpServer::stop(std::chrono::milliseconds grace) {
  if (const int fd = server_->take_listener(); fd != INVALID_SOCKET) {
    listen_fd_ = fd;
    ::shutdown(fd, SHUT_RDWR);  // wakes accept(); closed once the listening thread is done
  }
  bool done = !listening_.valid() || listening_.wait_for(grace) == std::future_status::ready;
  if (!done) {
    pool_.shut_down_all();
    done = listening_.wait_for(grace) == std::future_status::ready;
  }
  if (done && listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  return done;
}

}  // namespace mxlm::server
