// Chat template rendering speed: the Qwen3.6 template (from ../shared, or a stand-in with the
// same shape when absent) over conversations of growing length, with reasoning and tools, plus
// parsing the template. Rendering is per request, so it must stay far below a millisecond per
// turn and grow linearly with the conversation.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jinja/chat_template.h"

namespace {

using nlohmann::ordered_json;

std::string template_source() {
  // The repository's sibling ../shared, found from this file's own path (CMake compiles it by
  // its absolute path).
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
                    "shared/fixtures/chat_templates/qwen3.6.jinja";
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  return "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content|trim + "
         "'<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
}

mxlm::jinja::ChatTemplateInputs conversation(int turns) {
  mxlm::jinja::ChatTemplateInputs in;
  in.messages.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  for (int i = 0; i < turns; ++i) {
    in.messages.push_back({{"role", "user"}, {"content", "Question " + std::to_string(i) + ": please explain something in a few sentences."}});
    in.messages.push_back({{"role", "assistant"},
                           {"content", std::string(400, 'a') + " answer " + std::to_string(i)},
                           {"reasoning_content", "Let me think about question " + std::to_string(i) + "."}});
  }
  in.messages.push_back({{"role", "user"}, {"content", "Last question."}});
  in.tools = ordered_json::array({{{"type", "function"},
                                   {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}});
  in.add_generation_prompt = true;
  return in;
}

void BM_RenderQwenChat(benchmark::State& state) {
  const mxlm::jinja::Template tmpl(template_source());
  const auto in = conversation(int(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string out = mxlm::jinja::apply_chat_template(tmpl, in);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["messages"] = double(in.messages.size());
}
BENCHMARK(BM_RenderQwenChat)->Arg(1)->Arg(25)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_ParseQwenTemplate(benchmark::State& state) {
  const std::string source = template_source();
  for (auto _ : state) {
    mxlm::jinja::Template t(source);
    benchmark::DoNotOptimize(&t);
  }
}
BENCHMARK(BM_ParseQwenTemplate)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
