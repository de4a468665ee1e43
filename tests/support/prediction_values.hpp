// A cluster and training jobs built in code, as a planner builds them: the values the prediction
// entry point takes, with no scenario file.
#pragma once

#include "hardware/cluster.hpp"
#include "hardware/io/catalog.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan::test {

// `nodes` DGX A100 nodes (8 GPUs on NVSwitch, 8 × 200 Gb/s NICs) on a fat-tree of radix-64
// switches, with the built-in catalog's figures: what the scenario reader makes of
//   cluster: {device: A100-SXM4-80GB, nodes: N, devices_per_node: 8,
//             network: {link_bandwidth_gbps: 200, nics_per_node: 8}}
inline ClusterSpec a100_cluster(int nodes) {
  const Catalog& catalog = Catalog::builtin();
  ClusterSpec c;
  c.device = *catalog.find("A100-SXM4-80GB");
  c.nodes = nodes;
  c.devices_per_node = 8;
  c.node_fabric = NodeFabric::nvswitch;
  c.pcie.device_link_latency_s = catalog.network_defaults().nic_latency_s.value;
  c.network.topology = NetworkTopologyKind::fat_tree;
  c.network.link_bandwidth_bytes_per_s = 200e9 / 8;
  c.network.nics_per_node = 8;
  c.network.switch_latency_s = catalog.network_defaults().switch_latency_s.value;
  c.network.nic_latency_s = catalog.network_defaults().nic_latency_s.value;
  return c;
}

// GPT-3 1.3B (24 layers), bf16, micro-batches of one sequence, 1F1B unless `schedule` says.
inline TrainingJob gpt3_1_3b_job(int tp, int pp, int dp, std::int64_t global_batch,
                                 PipelineSchedule schedule = PipelineSchedule::one_f_one_b,
                                 int virtual_stages = 1) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.training.global_batch = global_batch;
  job.training.micro_batch = 1;
  job.training.dtype = Dtype::bf16;
  job.parallelism.tp = tp;
  job.parallelism.pp = pp;
  job.parallelism.dp = dp;
  job.parallelism.schedule = schedule;
  job.parallelism.virtual_stages = virtual_stages;
  return job;
}

}  // namespace scaleplan::test
