// The settings of one simulation: the collectives' software step cost and algorithm, and how
// traffic crosses the network.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/input/enum_names.hpp"
#include "sim/collective/collective.hpp"
#include "sim/collective/collective_calibration.hpp"

namespace scaleplan {

class ComputeModel;

// How collectives and messages cross the network: as flows sharing links max-min fairly, or on
// the alpha-beta fast path (estimate_collective_time_s: its time alone on an idle network, ports
// as the bottleneck, no flows; and no sooner than each of its ports has worked off the fast-path
// traffic given to it before, first come first served). `automatic` keeps flows unless the step
// would start more than the flow budget, then moves the collectives (per group, kind and size)
// that would start the most flows to the fast path, largest first, until the rest fit.
enum class NetworkModel { automatic, flows, alpha_beta };
inline constexpr EnumNames<NetworkModel, 3> network_model_names{{{
    {NetworkModel::automatic, "auto"},
    {NetworkModel::flows, "flows"},
    {NetworkModel::alpha_beta, "alpha-beta"},
}}};
inline std::string_view to_string(NetworkModel model) {
  return network_model_names.name(model);
}

struct SimulationOptions {
  double collective_step_latency_s = 0;  // software cost of each step of a collective algorithm
  // Forces one algorithm on every collective it implements (algorithm_applies); the others, and
  // all when absent, take choose_algorithm's choice.
  std::optional<CollectiveAlgorithm> collective_algorithm = std::nullopt;
  NetworkModel network_model = NetworkModel::automatic;
  // A calibration profile's collective fits: the collectives and messages they cover take their
  // fitted time on the fast path, whatever the network model (CommRoutes); null: none. Must
  // outlive the simulation.
  const CollectiveCalibration* collective_calibration = nullptr;
  // Flows a step may start before `automatic` takes the fast path: a million flows simulate in
  // seconds on one core (bench/), contended fabrics slower.
  std::uint64_t flow_budget = 1'000'000;
  // Route search work (the route classes routed from × the vertices and links one class's table
  // search visits, Topology::route_class_search_work) before `automatic` takes the fast path.
  // Where devices share no table (one class per device, as on a custom network) 5e7 is about
  // 0.2 s on one core (2,048 searches of a 16,384-GPU fat-tree, 3e8, took 1.3 s); on the
  // generated fabrics a class is the switches a device leaves its node through and its table
  // covers the switches only: the devices of a 131,072-GPU fat-tree read 32 tables, 8.6e6.
  double route_search_budget = 5e7;
  // The spread of the flows `automatic` keeps, as devices routed from × (vertices + links) of the
  // network: 5e7 is flows from 9,557 devices of a 512-GPU fat-tree, 297 of a 16,384-GPU one, 37
  // of a 131,072-GPU one. Until route classes (issue 20) this was the route search budget, per
  // device; it stays the bound on how widely flows spread because the flow model's time grows
  // with it (lifted, Llama 3 405B on 16,384 H100 takes all of its 800,000 flows as flows: 4.5 s
  // of CPU rather than 0.8 s, bench/README.md, "Route tables"), and so that predictions stay the
  // same. A step beyond it, or beyond flow_budget or route_search_budget, takes the fast path.
  double flow_source_budget = 5e7;
  // What `flows`, which has no fast path to fall back to, may ask for: each route class routed
  // from keeps 2 bytes of hop distance per switch (per vertex on a custom network), and flows run
  // one after the other (the largest golden case starts 5.8 million). Beyond either,
  // choose_network_models throws NetworkModelError.
  double route_search_limit = 1e9;
  std::uint64_t flow_limit = 50'000'000;
  // Compute time multipliers by device index (stragglers); empty, or 1 for a device: as timed.
  std::vector<double> compute_factor_by_device = {};
  // Per-op jitter by device index (op_jitter.hpp): each compute op of a device with one takes
  // its time × its factor × a draw; empty, or absent for a device: no jitter.
  std::vector<std::optional<OpJitter>> jitter_by_device = {};
  // Compute models by device index, for clusters that mix devices (node groups): a device's
  // kernels are timed by its entry. Empty, or null for a device: the model simulate() is given.
  // The models must outlive the simulation.
  std::vector<const ComputeModel*> compute_by_device = {};
  // Streaming multiprocessors by device index (the catalog's GEMM tiling): a compute op runs
  // slower by the share of them that communication kernels beside it hold. Empty, or 0 for a
  // device: no slowdown.
  std::vector<double> sm_count_by_device = {};
  // The SMs an NCCL collective's kernel holds by device index (the catalog's
  // collective_kernel_sms); empty, or 0 for a device: DeepEP's kernels alone hold any.
  std::vector<double> collective_kernel_sms_by_device = {};
  // Whether collectives on the tensor-parallel stream are Transformer Engine's userbuffers
  // overlapping them with their GEMMs (tp_comm_overlap) rather than NCCL's: its default
  // configuration (transformer_engine/pytorch/module/base.py, initialize_ub) runs the
  // reduce-scatters' "pipeline" and "bulk" overlaps on 16 SMs and the all-gathers' ring exchange
  // on the copy engines with 1.
  bool tensor_parallel_userbuffers = false;
  static constexpr double userbuffers_reduce_scatter_sms = 16;
  static constexpr double userbuffers_all_gather_sms = 1;
};

// A network model that cannot carry the step within the limits above.
class NetworkModelError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace scaleplan
