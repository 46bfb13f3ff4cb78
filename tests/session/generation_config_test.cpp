// generation_config.json: optional, and read strictly where present.
#include "session/generation_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../model/tiny_model.h"
#include "core/error.h"

namespace mxlm::session {
namespace {
using nlohmann::json;

// The message of the mxlm::Error that parsing `text` throws ("" when it throws none).
std::string error_of(const std::string& text) {
  try {
    parse_generation_config(json::parse(text), "m/generation_config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GenerationConfig, EosTokenIdIsOneIdOrAList) {
  EXPECT_EQ(parse_generation_config(json::parse(R"({"eos_token_id": 7})"), "g").eos_ids, std::vector<int32_t>{7});
  EXPECT_EQ(parse_generation_config(json::parse(R"({"eos_token_id": [248046, 248044], "top_k": 20})"), "g").eos_ids,
            (std::vector<int32_t>{248046, 248044}));
  EXPECT_TRUE(parse_generation_config(json::parse(R"({"do_sample": true})"), "g").eos_ids.empty());
  EXPECT_TRUE(parse_generation_config(json::parse(R"({"eos_token_id": null})"), "g").eos_ids.empty());
}

TEST(GenerationConfig, WrongTypesAreErrorsNamingTheFileAndTheField) {
  for (const char* bad : {R"({"eos_token_id": "2"})", R"({"eos_token_id": [1, "2"]})", R"({"eos_token_id": 1.5})",
                          R"({"eos_token_id": {"id": 1}})", R"({"eos_token_id": -1})", R"({"eos_token_id": 2147483648})",
                          R"({"eos_token_id": [18446744073709551615]})"}) {
    const std::string message = error_of(bad);
    EXPECT_NE(message.find("m/generation_config.json"), std::string::npos) << bad << ": " << message;
    EXPECT_NE(message.find("eos_token_id"), std::string::npos) << bad << ": " << message;
  }
  for (const char* bad : {"null", "[]", "3"})
    EXPECT_NE(error_of(bad).find("m/generation_config.json must be a JSON object"), std::string::npos) << bad;
}

TEST(GenerationConfig, AMissingFileMeansDefaultsAndABrokenOneIsAnError) {
  const std::string dir = testing_support::temp_dir("generation-config");
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(load_generation_config(dir).eos_ids.empty());
  std::ofstream(dir + "/generation_config.json") << R"({"eos_token_id": [5, 6)";
  try {
    load_generation_config(dir);
    ADD_FAILURE() << "truncated JSON accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/generation_config.json is not valid JSON"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mxlm::session
