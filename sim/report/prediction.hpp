// A prediction: one training step simulated, summarised as users read it. The entry point takes
// values (a cluster, a job, a compute model, a network built once, settings) and reads no file,
// so that a caller evaluating many plans (a planner, a sweep, a fit) builds the network once and
// may share it between threads; a scenario file is one way to get those values
// (prepare_run and predict(Scenario, ...) below, what `scaleplan run` calls).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/input/diagnostics.hpp"
#include "hardware/topology.hpp"
#include "sim/engine/time.hpp"
#include "sim/plan/plan.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/device_memory.hpp"
#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

struct MemoryBreakdown {
  int rank = 0;
  double weights_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  double activations_bytes = 0;
  double communication_buffer_bytes = 0;  // ZeRO's gradient bucket and gathered weights
  double nccl_buffer_bytes = 0;           // the NCCL communicators' own buffers (GPUs only)
  // Reserved by the framework's caching allocator beyond what it has handed out at the peak.
  double allocator_headroom_bytes = 0;
  double peak_bytes = 0;
  double capacity_bytes = 0;
  bool fits = true;
};

// The memory of each listed rank of `plan` on `device` (index: as in plan.ranks): its static
// memory, the peak of its activations `activation_peak_bytes[i]` (simulated, or
// activation_peak_bytes(plan)), NCCL's buffers (GPUs only) and the caching allocator's headroom
// at `allocator_headroom_fraction`.
std::vector<MemoryBreakdown> memory_by_rank(const Plan& plan,
                                            const std::vector<double>& activation_peak_bytes,
                                            const DeviceSpec& device,
                                            double allocator_headroom_fraction);
// The same with each rank on its own device of `cluster` (node groups).
std::vector<MemoryBreakdown> memory_by_rank(const Plan& plan,
                                            const std::vector<double>& activation_peak_bytes,
                                            const ClusterSpec& cluster,
                                            double allocator_headroom_fraction);

// A change of strategy that makes a job fit that did not (sim/report/memory_fit.hpp).
struct MemoryFitChange {
  std::string change;      // as scenario keys: "parallelism.zero: 1, parallelism.recompute: full"
  TrainingJob job;         // the job with the change
  MemoryBreakdown memory;  // its rank of highest memory
  double step_time_s = 0;  // simulated
};

// How one rank's step split: busy computing, communicating while the compute stream idled, and
// idle with nothing in flight (waiting on other stages: the pipeline bubble).
struct StepBreakdown {
  int rank = 0;
  int stage = 0;  // its pipeline stage
  double compute_s = 0;
  double exposed_comm_s = 0;
  double bubble_s = 0;
  // Exposed time per communication stream (index: Stream); streams in flight together each count
  // it, so these may add up to more than exposed_comm_s.
  std::array<double, stream_count> exposed_by_stream_s{};
  // compute_s + exposed_comm_s: what the rank itself spent, bubble aside.
  double busy_s() const { return compute_s + exposed_comm_s; }
  // The resource the rank spent most of its busy time on: the compute stream, or the
  // communication stream with the most exposed time.
  Stream bound_by() const;
};

// How busy one link was over the step.
struct LinkUsage {
  LinkId link = 0;
  std::string name;
  double bandwidth_bytes_per_s = 0;
  double bytes = 0;
  double utilization = 0;  // bytes / (bandwidth · step time)
};

// The links of one tier of the network (link_tier) and the busiest of them.
struct LinkTier {
  std::string tier;
  std::size_t links = 0;           // directed links of the tier in the network
  std::size_t used = 0;            // of them, those that carried traffic
  double bytes = 0;                // carried by all of them
  std::vector<LinkUsage> busiest;  // busiest first, at most RunSettings::busiest_links_per_tier
};

// The tier a link belongs to, by what it joins: "ICI" (torus chips), "NVLink" (a device's port
// into an NVSwitch, or an NVLink mesh), "PCIe" (a device's port into a PCIe switch), "host" (a
// PCIe switch's uplink, sockets), "device-NIC", "NIC" (a NIC's link into the network),
// "leaf-spine", "spine-core", "router" (dragonfly routers), "other" (custom networks). Tiers are
// listed in that order.
std::string_view link_tier(const Topology& topology, LinkId link);

// The ranks of one node group, when ranks differ (StepBound::groups).
struct NodeGroupTime {
  std::string group;   // its name (cluster.node_groups[].name)
  std::string device;  // its device's catalog name
  int ranks = 0;
  int nodes = 0;
  // Where node groups differ in shape, the group's, which the reports show.
  std::optional<NodeShape> shape;
  double mean_busy_s = 0;  // compute and exposed communication, averaged over its ranks
  double mean_wait_s = 0;  // the step less that
};

// Which rank bounds a step whose ranks differ (node groups of different devices, slowed or
// jittered devices), every rank simulated: the rank busy longest (computing and communicating
// while its compute stream idled), and how long the others wait for it (the step less their own
// busy time: at the gradient all-reduce under data parallelism, in the bubble under pipelining).
struct StepBound {
  int rank = 0;
  int device = 0;           // its device index
  std::string device_name;  // its device's catalog name
  std::string slowed;       // how it is slowed ("x1.5, jitter lognormal sigma 0.1"); empty: not
  std::string group;        // its node group's name; empty without node groups
  double busy_s = 0;
  int other_ranks = 0;     // the ranks simulated besides it
  double mean_wait_s = 0;  // over the other ranks
  double max_wait_s = 0;
  std::vector<NodeGroupTime> groups;  // one per node group, in node order; empty without
};

struct Prediction {
  std::string scenario;  // the scenario's name; empty from the value entry point unless set
  std::string device;
  int devices = 0;
  ParallelismSpec parallelism;
  int microbatches = 0;
  double step_time_s = 0;
  double tokens_per_s = 0;
  double model_parameters = 0;         // total_parameters of the model
  double model_active_parameters = 0;  // used per token: fewer than the total with MoE
  // Of model_parameters, the multi-token prediction modules' (their layers, eh_proj, norms).
  std::int64_t mtp_modules = 0;
  double mtp_parameters = 0;
  double model_flops_per_step = 0;
  double model_tflops_per_device = 0;
  // Model FLOPs utilisation: model FLOPs (training_flops_per_token, causal attention counted
  // half) per second per device over the training dtype's peak.
  double mfu = 0;
  // Hardware FLOPs utilisation: the FLOPs of every GEMM and attention kernel the plan runs
  // (recompute, flash attention's backward recomputing the scores, MoE padding) over the same
  // peak, as Korthikanti et al. 2022 and the PaLM paper quote it beside MFU.
  double hardware_flops_per_step = 0;
  double hfu = 0;
  double allocator_headroom_fraction = 0;     // of the reserved memory, from the scenario
  MemoryBreakdown memory;                     // the rank with the highest peak
  std::vector<MemoryBreakdown> stage_memory;  // one per pipeline stage
  // One per pipeline stage, each of the stage's busiest listed rank, and the stage that bound the
  // step: the one whose busiest rank was busy longest (the others wait on it in the bubble).
  std::vector<StepBreakdown> stage_breakdown;
  StepBreakdown breakdown;
  // The vocabulary padded to a multiple that tp divides (pad_vocabulary, sim/strategy), where
  // tp does not divide the written one: the written size and the padded size simulated.
  struct VocabPadding {
    std::int64_t written = 0;
    std::int64_t padded = 0;
  };
  std::optional<VocabPadding> vocab_padding;
  // What the reader should know about how the plan was modelled (recompute that changes nothing,
  // fp8's reach).
  std::vector<std::string> notes;
  std::string compute_model;
  // Why the ranks differ, so that every rank was simulated ("node groups of H100-SXM5-80GB and
  // A100-SXM4-80GB, 1 slowed device"); empty when they do not.
  std::string ranks_differ;
  // Set when the ranks differ: the rank that bounds the step.
  std::optional<StepBound> step_bound;
  std::string link_bandwidths;  // each link bandwidth the simulation used and where it came from
  std::uint64_t events = 0;
  std::uint64_t flows = 0;
  // Data-parallel replicas (blocks of ep of them with expert parallelism) the simulated ranks
  // stand for.
  int replicas_simulated_as_one = 1;
  NetworkModel network_model = NetworkModel::automatic;
  std::uint64_t flow_transactions = 0;  // collectives and messages simulated as flows
  std::uint64_t alpha_beta_transactions = 0;
  std::uint64_t flows_if_all_flows = 0;
  std::uint64_t routed_sources_if_all_flows = 0;
  std::uint64_t route_classes_if_all_flows = 0;  // their route classes (Topology::route_class)
  std::uint64_t flow_budget = 0;
  double route_search_budget = 0;  // see SimulationOptions
  double flow_source_budget = 0;   // see SimulationOptions
  std::size_t network_size = 0;    // vertices + links
  std::map<std::string, std::uint64_t> collectives_by_algorithm;
  // With a profile's collective fits: the collectives and messages by what timed them, a fit or
  // the network model and why (SimulationResult::communication_by_fit). Empty otherwise.
  std::map<std::string, std::uint64_t> communication_by_fit;
  std::vector<LinkUsage> busiest_links;  // at most 10, busiest first
  std::vector<LinkTier> link_tiers;      // the network's tiers in link_tier's order
  // When the plan does not fit and the caller asked (changes_that_fit): what would make it fit,
  // fastest first; empty when nothing tried does. Absent when not asked.
  std::optional<std::vector<MemoryFitChange>> changes_that_fit;
};

// How a plan is simulated and its memory counted; the defaults are what `scaleplan run` does.
struct RunSettings {
  RankScope ranks = RankScope::one_replica;
  NetworkModel network_model = NetworkModel::automatic;
  // The share of the caching allocator's reserved memory left unallocated at the peak (the
  // scenario key memory.allocator_headroom_fraction).
  double allocator_headroom_fraction = default_allocator_headroom_fraction().value;
  // The busiest links kept for each tier of the network (Prediction::link_tiers).
  int busiest_links_per_tier = 3;
};

struct EffectiveCluster {
  ClusterSpec cluster;
  std::string description;  // for reports: the bandwidths set and where each came from
  // The software cost of each step of a collective algorithm: the catalog's, until
  // calibrate_latencies replaces it with what a profile measured.
  double collective_step_latency_s = 0;
  // One step of the ring that a profile's all-reduce fit implies (its alpha over the 2(n-1)
  // steps of an n-rank ring), inside a node and between nodes, with where it came from.
  struct RingStep {
    double time_s = 0;
    std::string source;
  };
  std::optional<RingStep> intra_node_ring_step;
  std::optional<RingStep> inter_node_ring_step;
};

// The cluster as collectives see it: link bandwidths scaled by the catalog's measured
// efficiencies (what nccl-tests reaches against line rate), or, where a calibration profile has
// a fit, at its measured all-reduce bus bandwidth:
// - intra-node links (a single-node fit): a ring over a switch moves 2(n-1)/n of the buffer
//   through each device link, exactly the bus bandwidth convention of nccl-tests;
// - NIC and switch links (a fit over several nodes): NCCL runs one ring per NIC, each crossing
//   every node boundary once, so each NIC carries busbw over the NICs in use, the lesser of the
//   group's ranks per node and the measured cluster's NICs per node (the scenario's when the
//   profile does not say).
// The same fits' alphas give the ring steps that calibrate_latencies turns into latencies.
// `profile_name` names the profile in the description.
EffectiveCluster effective_cluster(const ClusterSpec& cluster, const Catalog& catalog,
                                   const Profile* profile = nullptr,
                                   const std::string& profile_name = "");

// The simulator charges each step of a collective phase the step latency plus the latency of
// the longest route among its transfers, so a ring over the group a profile measured costs
// 2(n-1) such steps. This sets the latencies that make the measured steps come out:
// - the step latency: the intra-node ring step less the route between devices 0 and 1;
// - the NIC latency: the inter-node ring step less the step latency and the rest of the route
//   between the first devices of nodes 0 and 1 (same rail, one leaf switch), over its two NICs.
// A measured step shorter than the route alone leaves the latency at 0, and the description
// says so. Appends both latencies, and where they came from, to the description. Returns the
// topology built with the NIC latency; `topology` is the one built from effective.cluster.
Topology calibrate_latencies(EffectiveCluster& effective, Topology topology);

// A cluster made ready to run plans on: its topology, built once, with the link bandwidths
// (effective_cluster) and latencies (calibrate_latencies) that the catalog and a calibration
// profile give it. Immutable once made: one serves any number of predictions, from any number of
// threads at once (Topology's contract, hardware/topology.hpp).
struct ClusterNetwork {
  Topology topology;
  std::string link_bandwidths;  // EffectiveCluster::description
  double collective_step_latency_s = 0;
  // The profile's collective fits, which time the collectives and messages whose kind and group
  // shape they cover (SimulationOptions::collective_calibration); empty without a profile.
  CollectiveCalibration collective_calibration;
};
// Throws TopologyError when the cluster's network cannot be built.
ClusterNetwork prepare_network(const ClusterSpec& cluster, const Catalog& catalog,
                               const Profile* profile = nullptr,
                               const std::string& profile_name = "");

// How long kernels take on `device`: the calibration profile's curves where one is given (named
// `profile_name` in reports), the catalog's roofline otherwise.
std::unique_ptr<ComputeModel> make_compute_model(const DeviceSpec& device,
                                                 const Profile* profile = nullptr,
                                                 const std::string& profile_name = "");

// What one prediction is computed from, all of it values that the caller owns and nothing read
// from a file: `network` prepared from `cluster` (prepare_network), `compute` for its device, and
// a job that the scenario rules accept (build_plan throws std::invalid_argument otherwise). Build
// the network and the compute model once and predict as many jobs on them as wanted, on any
// number of threads at once.
struct PredictionInputs {
  const ClusterSpec& cluster;
  const TrainingJob& job;
  const ComputeModel& compute;
  const ClusterNetwork& network;
  RunSettings settings = {};
};
// Builds the job's plan (build_plan(job, settings.ranks)), simulates one step and summarises it.
// A cluster whose ranks differ (ClusterSpec::ranks_differ: node groups of different devices,
// slowed devices) is simulated rank by rank whatever settings.ranks says. With node groups,
// `compute` times the first group's device (cluster.device); the other groups' devices are
// timed by their catalog rooflines.
Prediction predict(const PredictionInputs& inputs);
// The same for a plan the caller built from the job with build_plan(job, settings.ranks), to
// write it out, trace it or predict it again (a one-replica plan of a cluster whose ranks differ
// is rebuilt with every rank). `observers` (null entries ignored) watch the
// simulation: a TimelineRecorder, say.
Prediction predict(const PredictionInputs& inputs, const Plan& plan,
                   const std::vector<SimulationObserver*>& observers = {});

// The scenario's values for the entry point. The network of its cluster, with its calibration
// profile: a network that cannot be built is an InputError at the scenario's cluster.network key.
ClusterNetwork prepare_network(const Scenario& scenario, const Catalog& catalog);
// `settings` with the scenario's allocator headroom.
RunSettings run_settings(const Scenario& scenario, RunSettings settings = {});

// A scenario made ready to predict: its cluster's network and its job's plan.
struct PreparedRun {
  ClusterNetwork network;
  Plan plan;
  RunSettings settings;  // run_settings(scenario, settings given)
};
PreparedRun prepare_run(const Scenario& scenario, const Catalog& catalog,
                        const RunSettings& settings = {});
// The input error a step too long to simulate is, at the scenario key that lengthens what
// overflowed: training.micro_batch for one compute op, cluster.network for one communication,
// training.global_batch for the step as a whole.
InputError time_overflow_error(const Scenario& scenario, const TimeOverflow& overflow);
// predict on the scenario's values, with the compute model of its calibration profile if it
// names one; the prediction carries the scenario's name. A step too long to simulate is an
// InputError (time_overflow_error).
Prediction predict(const Scenario& scenario, const PreparedRun& run,
                   const std::vector<SimulationObserver*>& observers = {});

// `with_links` adds the busiest links of each tier of the network.
std::string format_text(const Prediction& prediction, bool with_links = false);
// Indented JSON (docs/scenario-format.md lists the keys), with a final newline.
std::string format_json(const Prediction& prediction);

}  // namespace scaleplan
