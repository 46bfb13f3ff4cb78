// `mxlm cpu`: what this machine offers the kernels.
#include <fmt/format.h>

#include "command.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/prefill.h"

namespace mxlm::cli {
namespace {

void print_cpu() {
  std::string isas;
  for (Isa isa : supported_isas()) isas += fmt::format("{} ", isa_name(isa));
  fmt::print("cores: {}\nsupported ISAs: {}\nactive ISA: {}\n", ThreadPool::available_cores(), isas,
             isa_name(active_isa()));
  fmt::print("prefill: {}\n", active_isa() == Isa::Avx512 && kernels::amx_prefill()
                                   ? "AMX-BF16 tiles (MXLM_AMX=0: exact fp32)"
                                   : "fp32 FMA panels");
}

MXLM_COMMAND({"cpu", "Show the CPU features and kernel set in use",
              [](CLI::App& app) { app.callback(print_cpu); }});

}  // namespace
}  // namespace mxlm::cli
