#include "sim/simulate/device_memory.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace scaleplan {

const NcclBufferFigures& nccl_buffer_figures() {
  static const NcclBufferFigures figures{
      {4194304,
       "NCCL src/init.cc: DEFAULT_BUFFSIZE (1 << 22), the default of NCCL_BUFFSIZE (NCCL "
       "environment variables documentation: 4194304)"},
      {524288,
       "NCCL src/init.cc DEFAULT_LL_BUFFSIZE = NCCL_LL_LINES_PER_THREAD 8 x NCCL_LL_MAX_NTHREADS "
       "512 x NCCL_STEPS 8 x 16-byte ncclLLFifoLine (src/include/device.h)"},
      {4915200,
       "NCCL src/init.cc DEFAULT_LL128_BUFFSIZE = NCCL_LL128_ELEMS_PER_THREAD 120 x "
       "NCCL_LL128_MAX_NTHREADS 640 x NCCL_STEPS 8 x 8 bytes (src/include/device.h)"},
      {24,
       "NCCL's channels on an 8-GPU NVSwitch node: 8x A100 HGX logs 'Channel 23/24' "
       "(NVIDIA/nccl-tests#100)"},
      {2,
       "NCCL src/graph/paths.cc ncclTopoGetNchannels: nNetChannels = 2 per network peer; a "
       "two-node log shows '2 p2p channels per peer' (NVIDIA/nccl#1189)"},
  };
  return figures;
}

std::vector<double> activation_peak_bytes(const Plan& plan) {
  std::vector<double> peaks;
  peaks.reserve(plan.ranks.size());
  for (const RankProgram& program : plan.ranks) {
    double bytes = 0, peak = 0;
    for (const Op& op : program.ops) {
      if (op.kind != OpKind::compute || op.activation_bytes == 0)
        continue;
      bytes += op.activation_bytes;
      // The simulator's own rounding rule: frees that undo allocations of other sizes leave dust
      // below zero.
      if (bytes < 0 && bytes > -1)
        bytes = 0;
      peak = std::max(peak, bytes);
    }
    peaks.push_back(peak);
  }
  return peaks;
}

std::vector<double> nccl_buffer_bytes(const Plan& plan) {
  // With data-parallel symmetry only one replica's ranks are listed; the others hold the same.
  std::vector<int> index_of(static_cast<std::size_t>(plan.world_size()), -1);
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    index_of[plan.ranks[i].rank] = static_cast<int>(i);
  std::vector<int> communicators(plan.ranks.size(), 0);
  for (const Group& group : plan.groups) {
    if (group.ranks.size() < 2)
      continue;
    for (int member : group.ranks) {
      if (index_of[member] >= 0)
        ++communicators[index_of[member]];
    }
  }
  std::vector<double> bytes(plan.ranks.size(), 0.0);
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    std::set<int> senders;
    for (const Op& op : plan.ranks[r].ops) {
      if (op.kind == OpKind::recv)
        senders.insert(op.peer);
    }
    bytes[r] = nccl_buffer_bytes(communicators[r], static_cast<int>(senders.size()));
  }
  return bytes;
}

double nccl_buffer_bytes(int communicators, int senders) {
  const NcclBufferFigures& f = nccl_buffer_figures();
  const double connection = f.connection_bytes();
  return communicators * f.collective_channels.value * connection +
         senders * f.p2p_channels_per_peer.value * connection;
}

const Figure& default_allocator_headroom_fraction() {
  static const Figure fraction{
      0.115,
      "Megatron-LM's memory report of a training run (NVIDIA/Megatron-LM#5662): max allocated "
      "5670.39 MB, max reserved 6406.00 MB, so 1 - 5670.39/6406 = 0.115 of the reserved memory "
      "unallocated at the peak; GMLake (Guo et al., ASPLOS 2024) measures 15 % on average (up to "
      "33 %) for LLM fine-tuning on A100 80 GB with recompute, offloading, ZeRO and LoRA"};
  return fraction;
}

double allocator_headroom_bytes(double allocated_bytes, double fraction) {
  if (!(fraction >= 0 && fraction < 1)) {
    throw std::invalid_argument(
        fmt::format("allocator headroom fraction {} is outside [0, 1)", fraction));
  }
  return allocated_bytes * fraction / (1 - fraction);
}

double allocator_headroom_fraction_on(DeviceKind kind, double fraction) {
  return kind == DeviceKind::gpu ? fraction : 0.0;
}

}  // namespace scaleplan
