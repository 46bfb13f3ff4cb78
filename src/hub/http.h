// A small blocking HTTP client over libcurl: one Http object owns one connection handle and
// is used by one thread at a time. It knows nothing about the hub; hub_client.h maps its
// answers to hub errors and retries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace mxlm::hub {

using HttpHeaders = std::map<std::string, std::string>;  // lowercase names

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // of the final response, after redirects
  std::string body;     // the body, or for a streamed download only the body of an error status
  // The protocol marked where the body ends (Content-Length, chunked encoding, HTTP/2 frames),
  // so a body cut short fails the transfer. Without it the body simply stops where the server
  // closed the connection, and a cut one looks whole.
  bool end_marked = false;
};

struct HttpRequest {
  std::string url;
  std::string bearer_token;  // sent as Authorization; libcurl drops it on a redirect to another host
  bool head = false;
  bool follow_redirects = true;
  uint64_t range_from = 0;  // > 0: ask for bytes range_from.. (resume)
};

// The connection failed or broke (refused, reset, timed out, body cut short): worth a retry,
// unlike an HTTP status, which the caller judges.
class TransferError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Receives a successful (2xx) body as it arrives. `begin` is called once with the status
// before the first byte; returning false from either aborts the transfer.
struct BodySink {
  std::function<bool(long status, const HttpHeaders& headers)> begin;
  std::function<bool(const char* data, size_t size)> write;
};

class Http {
 public:
  Http();
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // Reads the whole body into memory (API answers, small files).
  HttpResponse fetch(const HttpRequest& request);
  // Streams a 2xx body into `sink`; other statuses come back with their body in memory.
  HttpResponse stream(const HttpRequest& request, const BodySink& sink);

 private:
  HttpResponse perform(const HttpRequest& request, const BodySink* sink);
  void* curl_;
};

}  // namespace mxlm::hub
