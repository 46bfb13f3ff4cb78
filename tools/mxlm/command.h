// Subcommand registry of the mxlm tool. Each subcommand lives in its own cmd_*.cpp file and
// registers itself at start-up with MXLM_COMMAND, so adding one touches no other file.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mxlm::cli {

struct Command {
  std::string name;
  std::string help;
  // Declares the subcommand's flags on `app` and sets its callback.
  std::function<void(CLI::App& app)> setup;
};

std::vector<Command>& commands();
bool register_command(Command command);

// The --threads flag every compute command takes: 0 (the default) means one per core.
void add_threads_option(CLI::App& app, int& threads);
// The --resident flag (or MXLM_RESIDENT=1) of the commands that decode: weights read into
// memory instead of mapped, when they fit in half of it.
void add_resident_option(CLI::App& app, bool& resident);

// The tokens of a text file under a model's tokenizer (no special tokens parsed).
std::vector<int32_t> tokenize_file(const std::string& model_dir, const std::string& path);

}  // namespace mxlm::cli

#define MXLM_COMMAND_CONCAT_(a, b) a##b
#define MXLM_COMMAND_NAME_(line) MXLM_COMMAND_CONCAT_(registered_command_, line)
#define MXLM_COMMAND(...) \
  static const bool MXLM_COMMAND_NAME_(__LINE__) = ::mxlm::cli::register_command(__VA_ARGS__)
