#include "hub/http.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "core/error.h"

namespace mxlm::hub {
namespace {

// Bodies of error statuses are kept only this long: enough for the hub's JSON message.
constexpr size_t kMaxErrorBody = 16 << 10;

struct Transfer {
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;
  HttpResponse response;
  bool started = false;  // the first body byte of the final response has been seen
  bool to_sink = false;  // this response's body goes to the sink (2xx)
  bool aborted = false;  // the sink asked to stop
};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  // Every response in a redirect chain starts with a status line; only the last one's
  // headers describe the body.
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    t->response.headers[lowercase(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->started) {
    t->started = true;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response.status);
    t->to_sink = t->sink && t->response.status >= 200 && t->response.status < 300;
    if (t->to_sink && t->sink->begin && !t->sink->begin(t->response.status, t->response.headers)) {
      t->aborted = true;
      return 0;
    }
  }
  if (t->to_sink) {
    if (!t->sink->write(data, n)) {
      t->aborted = true;
      return 0;
    }
  } else if (!t->sink || t->response.body.size() < kMaxErrorBody) {
    t->response.body.append(data, n);
  }
  return n;
}

}  // namespace

Http::Http() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  MXLM_CHECK(curl_ != nullptr);
}

Http::~Http() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse Http::fetch(const HttpRequest& request) { return perform(request, nullptr); }

HttpResponse Http::stream(const HttpRequest& request, const BodySink& sink) { return perform(request, &sink); }

HttpResponse Http::perform(const HttpRequest& request, const BodySink* sink) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  Transfer t;
  t.curl = curl;
  t.sink = sink;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (!request.bearer_token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + request.bearer_token).c_str());
  const std::string range = request.range_from > 0 ? fmt::format("{}-", request.range_from) : std::string();

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "mxlm/0.1 (libcurl)");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // several transfers run on their own threads
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  // A connection that moves under 1 byte/s for a minute has stalled; abort it so the retry
  // loop can reconnect and resume.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (request.head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!range.empty()) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (code != CURLE_OK) {
    if (t.aborted) throw TransferError("cancelled");
    throw TransferError(fmt::format("{} ({})", error[0] ? error : curl_easy_strerror(code), request.url));
  }
  long version = 0;
  curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &version);
  const HttpHeaders& h = t.response.headers;
  const auto encoding = h.find("transfer-encoding");
  const bool chunked = encoding != h.end() && lowercase(encoding->second).find("chunked") != std::string::npos;
  t.response.end_marked = version >= CURL_HTTP_VERSION_2_0 || h.count("content-length") > 0 || chunked;
  // An empty 2xx body never reached on_body; the sink still needs to hear the status.
  if (!t.started && sink && t.response.status >= 200 && t.response.status < 300 && sink->begin &&
      !sink->begin(t.response.status, t.response.headers))
    throw TransferError("cancelled");
  return t.response;
}

}  // namespace mxlm::hub
