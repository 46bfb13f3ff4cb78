// Entry point of the mxlm tool: builds the subcommands, parses flags, and turns user errors
// into a message and exit status 1.
#include <cstdio>
#include <new>
#include <fstream>
#include <sstream>

#include "command.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace mxlm::cli {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

bool register_command(Command command) {
  commands().push_back(std::move(command));
  return true;
}

void add_threads_option(CLI::App& app, int& threads) {
  app.add_option("-t,--threads", threads, "Worker threads (0 = one per core)")
      ->check(CLI::NonNegativeNumber);
}

void add_resident_option(CLI::App& app, bool& resident) {
  app.add_flag("--resident", resident,
               "Read the weights into memory (huge pages where possible) when they take at most half of it; "
               "decodes faster than mapped files, starts slower")
      ->envname("MXLM_RESIDENT");
}

std::vector<int32_t> tokenize_file(const std::string& model_dir, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}", path);
  std::stringstream text;
  text << in.rdbuf();
  return tokenizer::Tokenizer::load(model_dir).encode(text.str(), /*parse_special=*/false);
}

}  // namespace mxlm::cli

int main(int argc, char** argv) {
  CLI::App app{"mxlm: convert, run and serve Qwen3.5/3.6 models with micro-scaled quantization"};
  app.require_subcommand(1);
  auto& all = mxlm::cli::commands();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& command : all) command.setup(*app.add_subcommand(command.name, command.help));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mxlm::Error& e) {
    std::fprintf(stderr, "mxlm: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mxlm: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    // A failure no check turned into an mxlm::Error (a library's own exception, such as a
    // filesystem error naming its path) still ends in one line and exit status 1.
    std::fprintf(stderr, "mxlm: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
