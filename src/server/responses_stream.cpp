// The Responses writer. A stream announces the response (response.created, in_progress), then
// each output item in order: added, its part, deltas of its text or arguments, their done
// events, item done; and ends with response.completed (or response.incomplete) holding the
// whole response. Every event carries a sequence_number, increasing from 0.
#include <set>

#include "server/chunk_stream.h"
#include "server/responses_schema.h"

namespace mxlm::server {
using json = nlohmann::ordered_json;

namespace {

class ResponsesWriter final : public ResponseWriter {
 public:
  ResponsesWriter(ResponseHead head, json conversation, ResponseStore* store)
      : head_(std::move(head)), conversation_(std::move(conversation)), store_(store) {}

  json response(const session::ChatResult& result) override {
    session::ChatResult r = result;
    make_ids_unique(r.tool_calls, ids_);
    json output = json::array();
    if (!r.reasoning.empty()) output.push_back(reasoning_item(r.reasoning));
    if (!r.text.empty()) output.push_back(message_item(r.text));
    for (const auto& call : r.tool_calls) output.push_back(function_call_item(call));
    remember(r);
    return response_object(head_, response_status(r), output, &r);
  }

  std::string start() override {
    const json o = response_object(head_, "in_progress", json::array(), nullptr);
    std::string out = emit("response.created", {{"response", o}});
    return out + emit("response.in_progress", {{"response", o}});
  }

  std::string event(const session::StreamEvent& e) override {
    std::string out;
    if (!e.text.empty()) {
      if (open_.empty() || (open_["type"] == "reasoning") != e.is_reasoning) {
        out += close();
        out += open(e.is_reasoning);
      }
      text_ += e.text;
      out += emit(e.is_reasoning ? "response.reasoning_text.delta" : "response.output_text.delta", part_event(e.text));
    }
    for (const auto& call : e.tool_calls) out += function_call(call);
    return out;
  }

  std::string finish(const session::ChatResult& result) override {
    std::string out;
    for (size_t i = calls_.size(); i < result.tool_calls.size(); ++i) out += function_call(result.tool_calls[i]);
    out += close();
    // The reply as streamed: the calls with the ids the client saw.
    session::ChatResult r = result;
    r.tool_calls = calls_;
    remember(r);
    const std::string status = response_status(r);
    return out + emit(status == "completed" ? "response.completed" : "response.incomplete",
                      {{"response", response_object(head_, status, output_, &r)}});
  }

  std::string error(const ApiError& e) override {
    const json body = e.body()["error"];
    return emit("error", {{"code", body["code"]}, {"message", body["message"]}, {"param", body["param"]}});
  }

 private:
  std::string emit(const std::string& type, json data) {
    json event = {{"type", type}, {"sequence_number", sequence_++}};
    event.update(data);
    return sse_event(type, event);
  }

  json part_event(const std::string& delta) const {
    json e = {{"item_id", open_["id"]}, {"output_index", output_.size()}, {"content_index", 0}, {"delta", delta}};
    if (open_["type"] == "message") e["logprobs"] = json::array();
    return e;
  }

  // Opens a reasoning or message item with one empty text part.
  std::string open(bool reasoning) {
    open_ = reasoning ? reasoning_item("") : message_item("");
    open_["status"] = "in_progress";
    // The part is announced by its own event; the item starts with none.
    const json part = open_["content"][0];
    open_["content"] = json::array();
    text_.clear();
    // Each emit takes the next sequence number, so the events are joined in statement order.
    std::string out = emit("response.output_item.added", {{"output_index", output_.size()}, {"item", open_}});
    return out + emit("response.content_part.added",
                      {{"item_id", open_["id"]}, {"output_index", output_.size()}, {"content_index", 0}, {"part", part}});
  }

  std::string close() {
    if (open_.empty()) return "";
    const bool reasoning = open_["type"] == "reasoning";
    json item = reasoning ? reasoning_item(text_) : message_item(text_);
    item["id"] = open_["id"];
    json done = part_event("");
    done.erase("delta");
    done["text"] = text_;
    std::string out = emit(reasoning ? "response.reasoning_text.done" : "response.output_text.done", done);
    out += emit("response.content_part.done", {{"item_id", item["id"]}, {"output_index", output_.size()},
                                               {"content_index", 0}, {"part", item["content"][0]}});
    out += item_done(item);
    open_ = json();
    return out;
  }

  std::string item_done(const json& item) {
    std::string out = emit("response.output_item.done", {{"output_index", output_.size()}, {"item", item}});
    output_.push_back(item);
    return out;
  }

  std::string function_call(session::ToolCall call) {
    std::vector<session::ToolCall> one = {std::move(call)};
    make_ids_unique(one, ids_);
    calls_.push_back(one[0]);
    std::string out = close();
    const json item = function_call_item(one[0]);
    json added = item;
    added["status"] = "in_progress";
    added["arguments"] = "";
    const size_t index = output_.size();
    out += emit("response.output_item.added", {{"output_index", index}, {"item", added}});
    out += emit("response.function_call_arguments.delta",
                {{"item_id", item["id"]}, {"output_index", index}, {"delta", one[0].arguments}});
    out += emit("response.function_call_arguments.done", {{"item_id", item["id"]}, {"output_index", index},
                                                          {"name", one[0].name}, {"arguments", one[0].arguments}});
    return out + item_done(item);
  }

  void remember(const session::ChatResult& r) {
    if (!store_) return;
    json conversation = conversation_;
    conversation.push_back(assistant_message(r));
    store_->put(head_.id, std::move(conversation));
  }

  ResponseHead head_;
  json conversation_;
  ResponseStore* store_;
  json output_ = json::array();  // items done so far
  json open_;                    // the reasoning or message item being streamed, null when none is
  std::string text_;             // its text so far
  std::vector<session::ToolCall> calls_;
  std::set<std::string> ids_;
  int64_t sequence_ = 0;
};

}  // namespace

std::unique_ptr<ResponseWriter> responses_writer(ResponseHead head, json conversation, ResponseStore* store) {
  return std::make_unique<ResponsesWriter>(std::move(head), std::move(conversation), store);
}

}  // namespace mxlm::server
