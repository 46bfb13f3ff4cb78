#include "kernels/prefill.h"

#include <atomic>

#include "core/cpu_features.h"

namespace mxlm::kernels {
namespace {

std::atomic<bool> g_amx_allowed{true};

}  // namespace

void allow_amx_prefill(bool allowed) { g_amx_allowed.store(allowed); }

bool amx_prefill() { return g_amx_allowed.load(std::memory_order_relaxed) && cpu_features().amx_bf16; }

}  // namespace mxlm::kernels
