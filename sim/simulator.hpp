// Runs a plan on the engine: compute ops take their roofline time on their rank's compute stream,
// collectives and point-to-point messages become flows on the network once every participant has
// reached them. Reports when each rank finished and how its time split into compute, exposed
// communication and idle (pipeline bubble), and its activation memory over time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/collective.hpp"
#include "sim/compute_model.hpp"
#include "sim/plan.hpp"
#include "sim/time.hpp"

namespace scaleplan {

// Subscribers see what happened; the engine does not know who listens.
class SimulationObserver {
 public:
  virtual ~SimulationObserver() = default;
  // An op ran from `start` to `end` on `rank` (communication: from when every participant was
  // ready to when the data had arrived).
  virtual void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) = 0;
  // The activation memory of `rank` changed to `bytes` at `time`.
  virtual void on_memory(int rank, SimTime time, double bytes) = 0;
};

struct SimulationOptions {
  double collective_step_latency_s = 0;  // software cost of each step of a collective algorithm
  // Forces one algorithm on every collective it implements (algorithm_applies); the others, and
  // all when absent, take choose_algorithm's choice.
  std::optional<CollectiveAlgorithm> collective_algorithm = std::nullopt;
};

struct RankResult {
  double finish_s = 0;
  double compute_s = 0;       // compute stream busy
  double exposed_comm_s = 0;  // compute idle while this rank's communication is in flight
  double idle_s = 0;          // compute idle, nothing in flight: waiting on other ranks
  double peak_activation_bytes = 0;
};

struct SimulationResult {
  double step_time_s = 0;
  std::vector<RankResult> ranks;
  std::uint64_t events = 0;
  std::uint64_t flows = 0;
  std::map<std::string, std::uint64_t> collectives_by_algorithm;  // algorithm name: collectives
  std::vector<double> link_bytes;  // bytes each link carried during the step (index: LinkId)
};

// Throws std::runtime_error naming the stuck ops if the plan deadlocks.
SimulationResult simulate(const Plan& plan, const Topology& topology, const ComputeModel& compute,
                          const SimulationOptions& options, SimulationObserver* observer = nullptr);

}  // namespace scaleplan
