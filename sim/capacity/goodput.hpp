// Goodput: what stretches the ideal time to train (steps × simulated step time) into the time a
// real run takes. Failures interrupt the job at a rate set by the devices' and nodes' mean times
// between failures; the job checkpoints its state every interval and, after a failure, restarts,
// reloads the last checkpoint and recomputes what it had done since. The data pipeline (storage
// reads and host preprocessing) can also hold the steps back.
//
// Pure functions on values, in SI units (seconds, bytes, bytes/s). The model is Daly's (J. T. Daly,
// "A higher order estimate of the optimum checkpoint interval for restart dumps", Future
// Generation Computer Systems 22(3), 2006): failures arrive as a Poisson process, a failure may
// strike during a checkpoint or a restart, and the interval is his higher-order refinement of
// Young's sqrt(2·δ·M) (J. W. Young, "A first order approximation to the optimum checkpoint
// interval", Communications of the ACM 17(9), 1974).
#pragma once

#include <string>
#include <string_view>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan::capacity {

// Mean time between failures that interrupt a synchronous training job, in hours: per device
// (the accelerator and its memory) and per node (host, NICs, cables and switches, software).
struct FailureRates {
  Figure device_mtbf_h;
  Figure node_mtbf_h;
};
// Derived from the Llama 3 paper's 54-day snapshot on 16,384 H100 (docs/capacity.md).
const FailureRates& llama3_failure_rates();

// The job's mean time between interruptions: failures of any device or node stop it all.
// 1 / (devices / device MTBF + nodes / node MTBF), in seconds.
double job_mtbf_s(int devices, int nodes, const FailureRates& rates);

// Daly's optimum compute time between checkpoints for a checkpoint that takes `write_s` and a
// job MTBF `mtbf_s`: sqrt(2δM)·[1 + (1/3)·sqrt(δ/2M) + (1/9)·(δ/2M)] − δ while δ < 2M, M beyond.
double optimal_checkpoint_interval_s(double write_s, double mtbf_s);
// Young's first-order interval, sqrt(2δM), for comparison.
double young_checkpoint_interval_s(double write_s, double mtbf_s);

// Daly's expected wall time to finish `solve_s` of computation that checkpoints every
// `interval_s` of it (each checkpoint `write_s`) and takes `restart_s` to resume after a failure
// (re-launch plus reading the checkpoint back): M·e^(R/M)·(e^((τ+δ)/M) − 1)·T_s/τ. Without
// failures (M infinite) this is T_s·(τ+δ)/τ.
double expected_wall_time_s(double solve_s, double interval_s, double write_s, double restart_s,
                            double mtbf_s);

// Where a run's time goes besides computing.
struct CheckpointSettings {
  double write_bytes_per_s = 0;  // storage's sustained write bandwidth the checkpoint sees
  double read_bytes_per_s = 0;   // and its read bandwidth on restart
  double restart_s = 0;          // detecting the failure, re-launching, re-initialising
};

struct GoodputInputs {
  double solve_s = 0;  // steps × step time, what a run without failures or checkpoints takes
  int devices = 0;
  int nodes = 0;
  double checkpoint_bytes = 0;
  FailureRates failures;
  CheckpointSettings checkpoint;
};

struct Goodput {
  double job_mtbf_s = 0;
  double checkpoint_write_s = 0;
  double restart_s = 0;  // re-launch plus reading the checkpoint back
  double checkpoint_interval_s = 0;
  double expected_failures = 0;  // over the wall time
  double wall_s = 0;
  double goodput = 1;  // solve_s / wall_s
};
Goodput goodput(const GoodputInputs& inputs);

// The data pipeline: tokens read from storage and prepared on the hosts.
struct DataPipeline {
  double storage_read_bytes_per_s = 0;    // for the whole job; 0: not a limit
  double bytes_per_token = 0;             // as stored (token ids)
  double host_tokens_per_s_per_node = 0;  // preprocessing; 0: not a limit
};

enum class DataBottleneck { none, storage_read, host_preprocessing };
inline constexpr EnumNames<DataBottleneck, 3> data_bottleneck_names{{{
    {DataBottleneck::none, "none"},
    {DataBottleneck::storage_read, "storage read"},
    {DataBottleneck::host_preprocessing, "host preprocessing"},
}}};
inline std::string_view to_string(DataBottleneck b) {
  return data_bottleneck_names.name(b);
}

struct DataRate {
  double tokens_per_s = 0;           // what the job runs at: the least of compute and the pipeline
  double pipeline_tokens_per_s = 0;  // what the pipeline alone delivers (infinite: no limit)
  DataBottleneck bottleneck = DataBottleneck::none;  // none: compute binds
};
// The rate at which `nodes` nodes that compute `compute_tokens_per_s` actually train.
DataRate data_rate(double compute_tokens_per_s, int nodes, const DataPipeline& pipeline);

}  // namespace scaleplan::capacity
