// The chat-completions and completions writer: the OpenAI objects of openai_schema and the
// chunk order of ChunkStream, with "data: [DONE]" closing every stream.
#include <set>

#include "server/chunk_stream.h"
#include "server/openai_schema.h"
#include "server/response_writer.h"

namespace mxlm::server {
using json = nlohmann::ordered_json;

namespace {

std::string sse_all(const std::vector<json>& chunks) {
  std::string out;
  for (const json& c : chunks) out += sse_event("", c);
  return out;
}

class OpenAiWriter final : public ResponseWriter {
 public:
  OpenAiWriter(std::string id, std::string model, int64_t created, bool chat, bool include_usage)
      : id_(id), model_(model), created_(created), chat_(chat), chunks_(std::move(id), std::move(model), created, chat, include_usage) {}

  json response(const session::ChatResult& result) override {
    session::ChatResult r = result;
    std::set<std::string> ids;
    make_ids_unique(r.tool_calls, ids);
    return chat_ ? chat_completion_json(id_, model_, created_, r) : completion_json(id_, model_, created_, r);
  }
  std::string start() override { return sse_all(chunks_.start()); }
  std::string event(const session::StreamEvent& e) override { return sse_all(chunks_.event(e)); }
  std::string finish(const session::ChatResult& r) override { return sse_all(chunks_.finish(r)); }
  std::string error(const ApiError& e) override { return sse_event("", e.body()); }
  std::string end() override { return "data: [DONE]\n\n"; }

 private:
  std::string id_, model_;
  int64_t created_;
  bool chat_;
  ChunkStream chunks_;
};

}  // namespace

std::unique_ptr<ResponseWriter> openai_writer(std::string id, std::string model, int64_t created, bool chat,
                                              bool include_usage) {
  return std::make_unique<OpenAiWriter>(std::move(id), std::move(model), created, chat, include_usage);
}

}  // namespace mxlm::server
