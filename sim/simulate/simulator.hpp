// Runs a plan on the engine: compute ops take their roofline time on their rank's compute stream,
// collectives and point-to-point messages become flows on the network (or take the alpha-beta
// fast path) once every listed participant has reached them. A plan listing one data-parallel
// replica is simulated once; the other replicas' copies of its transfers go on the network beside
// it wherever they could share a link with it. Reports when each rank finished and how its time
// split into compute, exposed communication and idle (pipeline bubble), and its activation memory
// over time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hardware/input/enum_names.hpp"
#include "hardware/topology.hpp"
#include "sim/collective/collective.hpp"
#include "sim/engine/time.hpp"
#include "sim/plan/plan.hpp"
#include "sim/simulate/compute_model.hpp"

namespace scaleplan {

class LinkRateObserver;  // sim/network.hpp

// Subscribers see what happened; the engine does not know who listens. `rank` is the program's
// index in Plan::ranks (the rank itself unless the plan lists one replica).
class SimulationObserver {
 public:
  virtual ~SimulationObserver() = default;
  // An op ran from `start` to `end` on `rank` (communication: from when every participant was
  // ready to when the data had arrived).
  virtual void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) = 0;
  // The activation memory of `rank` changed to `bytes` at `time`.
  virtual void on_memory(int rank, SimTime time, double bytes) = 0;
  // Where the network reports each change of a link's rate; none (the default) spares the
  // network from tracking link rates.
  virtual LinkRateObserver* link_rate_observer() { return nullptr; }
};

// How collectives and messages cross the network: as flows sharing links max-min fairly, or on
// the alpha-beta fast path (estimate_collective_time_s: its time alone on an idle network, ports
// as the bottleneck, no flows; and no sooner than each of its ports has worked off the fast-path
// traffic given to it before, first come first served). `automatic` keeps flows unless the step
// would start more than
// the flow budget, then moves the kinds of collective that would start the most flows to the
// fast path, largest first, until the rest fit.
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
  // Flows a step may start before `automatic` takes the fast path: a million flows simulate in
  // seconds on one core (bench/), contended fabrics slower.
  std::uint64_t flow_budget = 1'000'000;
  // Route search work (devices routed from × (vertices + links)) before `automatic` takes the
  // fast path: about 0.2 s on one core (2,048 searches of a 16,384-GPU fat-tree, 3e8, took 1.3 s).
  double route_search_budget = 5e7;
};

struct RankResult {
  int rank = 0;
  double finish_s = 0;
  double compute_s = 0;       // compute stream busy
  double exposed_comm_s = 0;  // compute idle while this rank's communication is in flight
  double idle_s = 0;          // compute idle, nothing in flight: waiting on other ranks
  double peak_activation_bytes = 0;
};

struct SimulationResult {
  double step_time_s = 0;
  std::vector<RankResult> ranks;  // the plan's listed ranks, in its order
  std::uint64_t events = 0;
  std::uint64_t flows = 0;
  // Collectives and messages run as flows and on the alpha-beta fast path, and the flows the
  // step would have started with every one of them as flows.
  std::uint64_t flow_transactions = 0;
  std::uint64_t alpha_beta_transactions = 0;
  std::uint64_t flows_if_all_flows = 0;
  std::uint64_t routed_sources_if_all_flows = 0;
  std::map<std::string, std::uint64_t> collectives_by_algorithm;  // algorithm name: collectives
  std::vector<double> link_bytes;  // bytes each link carried during the step (index: LinkId)
};

// Throws std::runtime_error naming the stuck ops if the plan deadlocks.
SimulationResult simulate(const Plan& plan, const Topology& topology, const ComputeModel& compute,
                          const SimulationOptions& options, SimulationObserver* observer = nullptr);

}  // namespace scaleplan
