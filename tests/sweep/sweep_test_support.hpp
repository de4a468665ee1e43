// Sweep files for the sweep tests: a small base scenario (GPT-3 1.3B on one DGX A100 node, a
// step in milliseconds) and sweeps over it.
#pragma once

#include <string>

#include "hardware/io/catalog.hpp"
#include "sim/sweep/sweep_spec.hpp"

namespace scaleplan::test {

inline const char* small_base = R"(base:
  cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8, node_fabric: nvswitch}
  model: {preset: gpt3-1.3b}
  training: {global_batch: 32, micro_batch: 1, dtype: bf16}
  parallelism: {tp: 1, pp: 2, dp: 4, schedule: 1f1b}
)";

inline sweep::Sweep parse_test_sweep(const std::string& rest,
                                     const std::string& file = "sweep.yaml") {
  return sweep::parse_sweep(std::string(small_base) + rest, file, Catalog::builtin());
}

}  // namespace scaleplan::test
