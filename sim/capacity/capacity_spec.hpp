// A capacity spec: one training job (a model, the tokens to train, the batch) and the clusters to
// compare for it (device kinds × sizes × node and network choices, each rented, bought or both),
// with a deadline, a budget, and what a real run loses to failures, checkpoints and data.
// docs/capacity.md describes the format; every error names the file, line, column and key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/io/catalog.hpp"
#include "sim/capacity/economics.hpp"
#include "sim/capacity/goodput.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan::capacity {

// One cluster to compare: a device kind at one size with its node and network layout, and how it
// may be paid for (at least one of rent and buy).
struct ClusterOption {
  std::string name;  // the option's name, with the device count when it lists several sizes
  ClusterSpec cluster;
  std::optional<RentPrice> rent;
  std::optional<BuyPrice> buy;
  double node_overhead_w = 0;
  // Where the option's network is written, for a network that cannot be built.
  SourceLocation network_location;
  std::string network_key;
};

struct CapacitySpec {
  std::string name;
  std::string file;
  // The model and the training settings; the parallelism is the planner's to choose.
  TrainingJob job;
  std::int64_t steps = 0;  // global_batch sequences of seq_len tokens each
  double tokens = 0;       // steps × global_batch × seq_len
  std::optional<double> deadline_s;
  std::optional<double> budget_usd;
  FailureRates failures;
  CheckpointSettings checkpoint;
  DataPipeline data;
  double pue = 1;
  double usd_per_kwh = 0;
  int top_k = 3;  // plans the planner simulates in full per cluster
  std::vector<ClusterOption> options;
};

// Defaults of the keys a spec may leave out, each with its source (docs/capacity.md lists them).
const Figure& default_checkpoint_write_bytes_per_s();
const Figure& default_checkpoint_read_bytes_per_s();
const Figure& default_restart_s();
const Figure& default_pue();
const Figure& default_usd_per_kwh();
const Figure& default_node_overhead_w();

// Reads and checks a spec. Throws InputError with every problem found, each naming the file,
// line, column and key and saying what would be valid.
CapacitySpec load_capacity_spec(const std::filesystem::path& path, const Catalog& catalog);
CapacitySpec parse_capacity_spec(std::string_view yaml_text, const std::string& file_label,
                                 const Catalog& catalog);

}  // namespace scaleplan::capacity
