// A scenario's prediction: one training step simulated, summarised as users read it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/plan/plan.hpp"
#include "sim/scenario/scenario.hpp"
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

struct StepBreakdown {
  int rank = 0;  // the rank whose step this is: the one that finishes last
  double compute_s = 0;
  double exposed_comm_s = 0;
  double bubble_s = 0;
};

// How busy one link was over the step.
struct LinkUsage {
  LinkId link = 0;
  std::string name;
  double bandwidth_bytes_per_s = 0;
  double bytes = 0;
  double utilization = 0;  // bytes / (bandwidth · step time)
};

struct Prediction {
  std::string scenario;
  std::string device;
  int devices = 0;
  ParallelismSpec parallelism;
  int microbatches = 0;
  double step_time_s = 0;
  double tokens_per_s = 0;
  double model_flops_per_step = 0;
  double model_tflops_per_device = 0;
  double mfu = 0;
  double allocator_headroom_fraction = 0;     // of the reserved memory, from the scenario
  MemoryBreakdown memory;                     // the rank with the highest peak
  std::vector<MemoryBreakdown> stage_memory;  // one per pipeline stage
  StepBreakdown breakdown;
  std::string compute_model;
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
  std::uint64_t flow_budget = 0;
  double route_search_budget = 0;  // see SimulationOptions
  std::size_t network_size = 0;    // vertices + links
  std::map<std::string, std::uint64_t> collectives_by_algorithm;
  std::vector<LinkUsage> busiest_links;  // at most 10, busiest first
};

// How a scenario is simulated; the defaults are what `scaleplan run` does.
struct RunSettings {
  RankScope ranks = RankScope::one_replica;
  NetworkModel network_model = NetworkModel::automatic;
};

// Everything a run is built from, for callers that want the plan or the topology too.
struct PreparedRun {
  Topology topology;
  Plan plan;
  RunSettings settings;
  std::string link_bandwidths;  // EffectiveCluster::description
  double collective_step_latency_s = 0;
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

PreparedRun prepare_run(const Scenario& scenario, const Catalog& catalog,
                        const RunSettings& settings = {});
// `observers` (null entries ignored) watch the simulation: a TimelineRecorder, say.
Prediction predict(const Scenario& scenario, const PreparedRun& run,
                   const std::vector<SimulationObserver*>& observers = {});

// `with_links` adds the table of the busiest links.
std::string format_text(const Prediction& prediction, bool with_links = false);
// Indented JSON (docs/scenario-format.md lists the keys), with a final newline.
std::string format_json(const Prediction& prediction);

}  // namespace scaleplan
