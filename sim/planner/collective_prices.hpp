// What the planner's estimate pays for communication: each collective on the groups of a parallel
// layout, and each pipeline message, priced as the simulator's alpha-beta path prices them, and
// remembered. Part of sim/planner; not thread-safe (one per PlanEstimator).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/collective/collective.hpp"
#include "sim/collective/collective_calibration.hpp"
#include "sim/plan/collective_kind.hpp"
#include "sim/plan/plan.hpp"
#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

// Which groups of a kind run a collective at the same time: those of one pipeline stage (the
// gradient reductions after a stage's last backward), or those of every stage (what each
// micro-batch runs: tensor, context and expert parallel collectives, ZeRO-3's gathers,
// pipeline messages), since in the steady state every stage is at work.
enum class Concurrency { stage, world };

class CollectivePrices {
 public:
  // With `calibration` (a profile's collective fits), a collective or message whose kind and
  // group shape a fit covers costs what the fit says, latency and bus traffic, as the simulator
  // times it (CommRoutes); the others are priced from the network as without.
  CollectivePrices(const Topology& topology, double step_latency_s,
                   const CollectiveCalibration* calibration = nullptr)
      : topology_(topology), step_latency_s_(step_latency_s), calibration_(calibration) {}

  // Seconds a `kind` collective of `bytes` per member takes on the `group` groups under `p`,
  // all of those `concurrency` names at once: the algorithm the simulator would choose for the
  // first group (choose_algorithm), its phases with the other groups' transfers beside them
  // (each group is the first moved by a rank offset, as the simulator copies a replica's), timed
  // as estimate_collective_time_s times them. Transfers inside a node whose devices each have
  // their own port (NVSwitch, NVLink) cannot meet another group's and are left out, as the
  // simulator leaves out such copies. 0 for a group of one rank.
  //
  // The phases' loads (phase_load) are linear in the bytes: they are worked out once per byte
  // for each group layout, kind and algorithm, and scaled, so that pricing another size costs
  // an expansion of the first group's phases, not a pass over every copy. The choice of
  // algorithm compares the same scaled loads; it can differ from choose_algorithm's only where
  // two algorithms' times agree to rounding.
  double collective_s(GroupKind group, CollectiveKind kind, double bytes, const ParallelismSpec& p,
                      Concurrency concurrency);

  // Seconds an expert-parallel all-to-all of `bytes` per member takes under `dispatch` on every
  // expert-parallel group of `p` at once: the first group's transfers as the simulator expands
  // them (expand_expert_dispatch) with the other groups' copies beside them, timed as
  // estimate_collective_time_s times them; remembered by layout, dispatch and size.
  double expert_dispatch_s(const ParallelismSpec& p, const ExpertDispatch& dispatch, double bytes);
  // Seconds the all-reduce of a tied embedding's gradient takes between each rank of the first
  // pipeline stage and its peer in the last, all at once.
  double embedding_all_reduce_s(const ParallelismSpec& p, double bytes);

  // Seconds every rank takes to send `bytes` to its peer in the next pipeline stage, every
  // stage at once.
  double message_s(const ParallelismSpec& p, double bytes);

 private:
  struct Priced {
    CollectiveKind kind;
    double bytes;
    bool operator==(const Priced&) const = default;
  };
  struct PricedHash {
    std::size_t operator()(const Priced& p) const {
      return std::hash<double>{}(p.bytes) * 31 + static_cast<std::size_t>(p.kind);
    }
  };
  // An algorithm's phases on a layout, per byte: the first group's alone (for the choice) and
  // with the other groups' copies (for the price), with each phase's transfer count to check
  // that an expansion at another size has the same shape.
  struct Loads {
    std::vector<std::size_t> transfers;
    std::vector<PhaseLoad> alone;
    std::vector<PhaseLoad> together;  // empty until the algorithm is chosen once
  };
  // A kind of group in a layout: the first group and where the others are.
  struct Layout {
    std::vector<int> devices;  // the first group's, in ring order
    std::vector<int> offsets;  // of the other groups that run at once: add to each device
    std::unordered_map<Priced, double, PricedHash> seconds;
    std::map<CollectiveKind, std::vector<CollectiveAlgorithm>> candidates;
    std::map<std::pair<CollectiveKind, CollectiveAlgorithm>, Loads> loads;
  };
  Layout& layout(GroupKind group, const ParallelismSpec& p, Concurrency concurrency);
  double price(Layout& layout, CollectiveKind kind, double bytes);
  Loads& loads(Layout& layout, CollectiveKind kind, CollectiveAlgorithm algorithm);
  // Seconds of `phases` (expanded at `bytes`) with `per_byte` loads, or nullopt where their
  // shape differs from the loads'.
  std::optional<double> seconds_of(const std::vector<Phase>& phases, const Loads& loads,
                                   const std::vector<PhaseLoad>& per_byte, double bytes) const;

  // The fit's seconds for `op` on `devices`, or nullopt where no fit covers them.
  std::optional<double> fitted_s(CollectiveOp op, const std::vector<int>& devices,
                                 double bytes) const;

  const Topology& topology_;
  double step_latency_s_;
  const CollectiveCalibration* calibration_;
  // By group kind, concurrency, tp, pp, cp, dp, ep.
  std::map<std::tuple<GroupKind, Concurrency, int, int, int, int, int>, Layout> layouts_;
  std::map<std::tuple<int, int, int, int>, Layout> embedding_layouts_;  // tp, cp, dp, pp
  // Expert dispatches priced, by tp, pp, cp, dp, ep, the dispatch's fields and the bytes.
  std::map<std::tuple<int, int, int, int, int, int, int, std::int64_t, std::int64_t, std::int64_t,
                      std::int64_t, double, double>,
           double>
      dispatches_;
  // A stage-boundary message's load per byte, by tp, cp, dp, pp.
  std::map<std::tuple<int, int, int, int>, PhaseLoad> messages_;
};

}  // namespace scaleplan
