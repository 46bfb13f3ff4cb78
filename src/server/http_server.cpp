#include "server/http_server.h"

#include <httplib.h>

#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "server/peer_socket.h"
#include "server/web_page.h"

namespace mxlm::server {
namespace {

using json = nlohmann::ordered_json;
using httplib::Request;
using httplib::Response;

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(Response& res, const ApiError& e) { send_json(res, e.status(), e.body()); }

// Runs a handler body, answering every failure with an OpenAI error object: ApiError as
// itself, other user errors (mxlm::Error, e.g. a chat template rejecting the conversation) as
// 400, anything else as 500. Returns false when it answered an error.
template <typename F>
bool guarded(Response& res, F&& body) {
  try {
    body();
    return true;
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {
    send_error(res, ApiError(400, e.what()));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, fmt::format("internal error: {}", e.what()), "server_error"));
  }
  return false;
}

json parse_body(const Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, fmt::format("The request body is not valid JSON: {}", e.what()), "invalid_request_error", "",
                   "invalid_json");
  }
}

bool is_public(const std::string& path) { return path == "/" || path == "/health" || path == "/v1/health"; }

}  // namespace

HttpServer::HttpServer(Endpoints& endpoints, const HttpOptions& options)
    : endpoints_(endpoints), options_(options), server_(std::make_unique<httplib::Server>()) {
  // Each open connection, streaming or idle keep-alive, holds a thread; the default pool
  // (8 here) would let idle clients starve queued streams.
  const size_t threads = std::max<size_t>(options_.threads, 4);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(size_t(256) << 20);
  server_->set_keep_alive_timeout(30);
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
  const std::string api_key = options_.api_key;
  s.set_pre_routing_handler([api_key](const Request& req, Response& res) {
    // `curl -d` labels JSON as a form, and httplib refuses forms over 8 KiB (413) while it reads
    // the body, which happens after this handler. Every body here is JSON, so say so.
    if (req.get_header_value("Content-Type") == "application/x-www-form-urlencoded") {
      auto& headers = const_cast<httplib::Headers&>(req.headers);
      headers.erase("Content-Type");
      headers.emplace("Content-Type", "application/json");
    }
    if (api_key.empty() || is_public(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + api_key) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "Invalid API key: send it as 'Authorization: Bearer KEY'", "authentication_error", "",
                             "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Unknown paths (clients probe /api/tags, /props, /version to fingerprint servers) and
  // transport-level failures get a JSON body too; handlers' own errors already have one.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404)
      send_error(res, ApiError(404, fmt::format("Unknown path: {} {}", req.method, req.path), "invalid_request_error",
                               "", "not_found"));
    else
      send_error(res, ApiError(res.status, fmt::format("HTTP error {}", res.status)));
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "internal error", "server_error"));
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

  // Chat and text completions: a JSON answer, or SSE written by a chunked content provider,
  // which runs after the handler returns, on the same connection thread.
  using Make = std::unique_ptr<Generation> (Endpoints::*)(const json&);
  auto generation = [&ep](Make make) {
    return [&ep, make](const Request& req, Response& res) {
      const bool ok = guarded(res, [&] {
        std::shared_ptr<Generation> g = (ep.*make)(parse_body(req));
        if (!g->stream()) {
          const PeerSocket peer(req.remote_addr, req.remote_port);
          send_json(res, 200, g->run([&peer] { return !peer.closed(); }));
          return;
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider("text/event-stream", [g](size_t, httplib::DataSink& sink) {
          g->run_stream([&sink](const std::string& bytes) { return sink.write(bytes.data(), bytes.size()); });
          sink.done();
          return true;
        });
      });
      if (!ok) ep.metrics().request_failed();
    };
  };
  s.Post("/v1/chat/completions", generation(&Endpoints::chat_completion));
  s.Post("/chat/completions", generation(&Endpoints::chat_completion));
  s.Post("/v1/completions", generation(&Endpoints::completion));
  s.Post("/completions", generation(&Endpoints::completion));

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
  httplib::Server& s = *server_;
  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
    if (port_ < 0) fail("cannot listen on {} (any port)", options_.host);
  } else {
    if (!s.bind_to_port(options_.host, options_.port)) fail("cannot listen on {}:{} (in use?)", options_.host, options_.port);
    port_ = options_.port;
  }
  thread_ = std::thread([&s] { s.listen_after_bind(); });
}

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mxlm::server
