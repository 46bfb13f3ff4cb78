// `mxlm tokenize` and `mxlm detokenize`: text to token ids and back with a model's tokenizer.
#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "command.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::cli {
namespace {

struct TokenizeArgs {
  std::string model_dir, text, file;
  bool ids_only = false;
};

struct DetokenizeArgs {
  std::string model_dir, ids;
  bool skip_special = false;
};

// Shows raw token bytes readably: printable ASCII as is, everything else escaped, so partial
// UTF-8 characters and control bytes are visible.
std::string escape_bytes(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    const uint8_t b = uint8_t(c);
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (b >= 0x20 && b < 0x7F) out += c;
    else out += fmt::format("\\x{:02x}", b);
  }
  return out;
}

void tokenize(const TokenizeArgs& args) {
  std::string text = args.text;
  if (!args.file.empty()) {
    std::ifstream in(args.file, std::ios::binary);
    if (!in) fail("cannot open --file {}", args.file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto tok = tokenizer::Tokenizer::load(args.model_dir);
  const std::vector<int32_t> ids = tok.encode(text);
  if (args.ids_only) {
    fmt::print("{}\n", fmt::join(ids, ","));
    return;
  }
  for (int32_t id : ids)
    fmt::print("{}\t{}\t\"{}\"\n", id, tok.id_to_token(id), escape_bytes(tok.token_bytes(id)));
  fmt::print("{} tokens\n", ids.size());
}

std::vector<int32_t> parse_ids(const std::string& list) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    const std::string item = list.substr(pos, comma - pos);
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 0 || value > INT32_MAX)
      fail("--ids: '{}' is not a token id", item);
    ids.push_back(int32_t(value));
    pos = comma + 1;
  }
  return ids;
}

void detokenize(const DetokenizeArgs& args) {
  const std::vector<int32_t> ids = parse_ids(args.ids);
  const auto tok = tokenizer::Tokenizer::load(args.model_dir);
  fmt::print("{}", tok.decode(ids, args.skip_special));
}

MXLM_COMMAND({"tokenize", "Encode text to token ids with a model's tokenizer",
              [](CLI::App& app) {
                auto args = std::make_shared<TokenizeArgs>();
                app.add_option("-m,--model", args->model_dir, "Model directory (tokenizer.json)")
                    ->required();
                auto* text = app.add_option("--text", args->text, "Text to encode");
                auto* file = app.add_option("--file", args->file, "File whose bytes to encode");
                text->excludes(file);
                file->excludes(text);
                app.add_flag("--ids-only", args->ids_only, "Print only the ids, comma-separated");
                app.callback([args, text, file] {
                  if (text->count() == 0 && file->count() == 0) fail("give --text or --file");
                  tokenize(*args);
                });
              }});

MXLM_COMMAND({"detokenize", "Decode comma-separated token ids to text",
              [](CLI::App& app) {
                auto args = std::make_shared<DetokenizeArgs>();
                app.add_option("-m,--model", args->model_dir, "Model directory (tokenizer.json)")
                    ->required();
                app.add_option("--ids", args->ids, "Token ids, e.g. 1,2,3")->required();
                app.add_flag("--skip-special", args->skip_special, "Leave out special tokens");
                app.callback([args] { detokenize(*args); });
              }});

}  // namespace
}  // namespace mxlm::cli
