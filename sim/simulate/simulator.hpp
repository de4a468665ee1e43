// Runs a plan on the engine: compute ops take their roofline time on their rank's compute stream,
// collectives and point-to-point messages become flows on the network (or take the alpha-beta
// fast path) once every listed participant has reached them. A plan listing one data-parallel
// replica is simulated once; the other replicas' copies of its transfers go on the network beside
// it wherever they could share a link with it. Reports when each rank finished and how its time
// split into compute, exposed communication and idle (pipeline bubble), and its activation memory
// over time.
//
// The parts: RankScheduler (ops, dependencies, streams, memory), TransactionMatcher (which ops
// form one collective or message), CommRoutes and choose_network_models (how each crosses the
// network), the TransferModels (flows, alpha-beta) and the observers (RankStatistics, and
// whatever the caller adds, such as a TimelineRecorder).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/plan/plan.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/rank_statistics.hpp"
#include "sim/simulate/simulation_observer.hpp"
#include "sim/simulate/simulation_options.hpp"

namespace scaleplan {

struct SimulationResult {
  double step_time_s = 0;
  std::vector<RankResult> ranks;  // the plan's listed ranks, in its order
  std::uint64_t events = 0;
  std::uint64_t flows = 0;
  // Collectives and messages run as flows and on the alpha-beta fast path, and the flows the
  // step would have started with every one of them as flows (but those a calibration times).
  std::uint64_t flow_transactions = 0;
  std::uint64_t alpha_beta_transactions = 0;
  std::uint64_t flows_if_all_flows = 0;
  std::uint64_t routed_sources_if_all_flows = 0;
  std::uint64_t route_classes_if_all_flows = 0;  // their route classes (Topology::route_class)
  std::map<std::string, std::uint64_t> collectives_by_algorithm;  // algorithm name: collectives
  // With a calibration (SimulationOptions::collective_calibration): collectives and messages by
  // what timed them, its fits or the network model and why (CommRoutes::launched_by_fit).
  std::map<std::string, std::uint64_t> communication_by_fit;
  std::vector<double> link_bytes;  // bytes each link carried during the step (index: LinkId)
};

// Throws std::invalid_argument if the plan breaks validate_plan or needs devices the topology
// lacks, and std::runtime_error naming the stuck ops if it deadlocks. `observers` (null entries
// ignored) are told every op, memory change and, where they ask, link rate change.
SimulationResult simulate(const Plan& plan, const Topology& topology, const ComputeModel& compute,
                          const SimulationOptions& options,
                          const std::vector<SimulationObserver*>& observers = {});

}  // namespace scaleplan
