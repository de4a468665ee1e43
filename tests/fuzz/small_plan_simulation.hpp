// What the plan fuzz targets share: a plan that reads, if small, is simulated on a star of its
// ranks. The readers' validation promises the engine a well-formed plan, so the simulation must
// end (finished, or a deadlock or overflow reported as an exception), never crash or hang.
#pragma once

#include <cstddef>
#include <exception>
#include <vector>

#include "hardware/io/catalog.hpp"
#include "hardware/topology.hpp"
#include "sim/plan/plan.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"

namespace scaleplan::fuzz {

inline constexpr std::size_t max_fuzz_ranks = 16;
inline constexpr std::size_t max_fuzz_ops = 4096;

// Ranks on one switch: the simplest network every plan can run on.
inline const Topology& star(std::size_t ranks) {
  static const std::vector<Topology> topologies = [] {
    std::vector<Topology> t;
    for (std::size_t n = 1; n <= max_fuzz_ranks; ++n) {
      std::vector<Topology::DuplexLink> links;
      for (std::size_t d = 0; d < n; ++d)
        links.push_back({static_cast<VertexId>(d), static_cast<VertexId>(n), 50e9, 1e-6});
      t.push_back(Topology::custom(static_cast<int>(n), 1, links));
    }
    return t;
  }();
  return topologies[ranks - 1];
}

inline void simulate_if_small(const Plan& plan) {
  std::size_t ops = 0;
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    ops += plan.ops_of(i).size();
  // A plan of one replica runs its copies on the devices after it: the cluster holds them all.
  const auto world = static_cast<std::size_t>(plan.world_size());
  if (plan.ranks.empty() || world > max_fuzz_ranks || ops > max_fuzz_ops)
    return;
  for (const auto& rank : plan.ranks) {
    if (rank.device < 0 || static_cast<std::size_t>(rank.device) >= world)
      return;  // the simulator refuses it (tested elsewhere); here only the engine is fuzzed
  }
  const DeviceSpec& h100 = *Catalog::builtin().find("H100-SXM5-80GB");
  const RooflineModel compute(h100);
  // The communication kernels hold SMs as H100's do, so that every plan also runs the compute's
  // rate changes (RankScheduler::hold_sms).
  SimulationOptions options{1e-6};
  options.sm_count_by_device.assign(world, h100.gemm_tiling->sm_count.value);
  options.collective_kernel_sms_by_device.assign(world,
                                                 h100.gemm_tiling->collective_kernel_sms->value);
  try {
    (void)simulate(plan, star(world), compute, options);
  } catch (const std::exception&) {
    // Deadlocks, durations beyond the simulated range and dtypes the device lacks are reported
    // as exceptions; that is the contract.
  }
}

}  // namespace scaleplan::fuzz
