#include "sim/simulate/simulator.hpp"

#include <stdexcept>

#include "sim/engine/engine.hpp"
#include "sim/engine/network.hpp"
#include "sim/simulate/alpha_beta_transfer_model.hpp"
#include "sim/simulate/comm_routes.hpp"
#include "sim/simulate/flow_transfer_model.hpp"
#include "sim/simulate/link_rate_sum.hpp"
#include "sim/simulate/network_model_choice.hpp"
#include "sim/simulate/rank_scheduler.hpp"
#include "sim/simulate/transaction_matcher.hpp"

namespace scaleplan {

namespace {

// Every rank, and with replicas every copy of it, runs on a device of the cluster (a plan file
// names each rank's device; one past the cluster would index past the network).
void check_devices(const Plan& plan, const Topology& topology) {
  const int devices = topology.device_count();
  if (static_cast<int>(plan.ranks.size()) > devices) {
    throw std::invalid_argument("the plan has " + std::to_string(plan.ranks.size()) +
                                " ranks but the cluster only " + std::to_string(devices) +
                                " devices");
  }
  for (const auto& program : plan.ranks) {
    if (program.device < 0 || program.device >= devices) {
      throw std::invalid_argument("rank " + std::to_string(program.rank) + " runs on device " +
                                  std::to_string(program.device) + ", but the cluster has " +
                                  std::to_string(devices) + " devices");
    }
  }
  const Replicas& replicas = plan.replicas;
  if (replicas.count <= 1)
    return;
  for (const auto& program : plan.ranks) {
    const std::int64_t last_copy =
        program.device + std::int64_t{replicas.count - 1} * replicas.rank_stride;
    if (last_copy >= devices) {
      throw std::invalid_argument("rank " + std::to_string(program.rank) + " on device " +
                                  std::to_string(program.device) + " has a copy in replica " +
                                  std::to_string(replicas.count - 1) + " on device " +
                                  std::to_string(last_copy) + ", but the cluster has " +
                                  std::to_string(devices) + " devices");
    }
  }
}

// The parts of one run, wired together: the scheduler hands communication ops to the matcher; a
// complete transaction goes to the network model its route takes; its end finishes its ops.
class Simulation final : public CommunicationHandler, public TransactionDoneHandler {
 public:
  Simulation(const Plan& plan, const Topology& topology, const ComputeModel& compute,
             const SimulationOptions& options, const std::vector<SimulationObserver*>& observers)
      : plan_(plan),
        statistics_(plan),
        observers_(with_statistics(observers)),
        network_(engine_, topology),
        routes_(plan, topology, options.collective_step_latency_s, options.collective_algorithm,
                options.collective_calibration),
        matcher_(plan),
        scheduler_(
            plan, compute, engine_, observers_, *this,
            [this](int rank) { return matcher_.orders(rank); }, options),
        flows_(engine_, network_, routes_, options.collective_step_latency_s, *this),
        link_rates_(observers_.observes_link_rates() ? topology.link_count() : 0, observers_),
        alpha_beta_(engine_, topology, routes_, options.collective_step_latency_s,
                    observers_.observes_link_rates() ? &link_rates_ : nullptr, *this),
        demand_(choose_network_models(plan, topology, options, routes_)) {
    // Without observers of link rates the network keeps none.
    if (observers_.observes_link_rates())
      network_.set_link_rate_observer(&link_rates_);
  }

  SimulationResult run() {
    scheduler_.start();
    engine_.run();
    scheduler_.check_finished();
    SimulationResult result;
    result.step_time_s = to_seconds(statistics_.step_end());
    result.ranks = statistics_.results();
    result.events = engine_.events_processed();
    result.flows = network_.flows_started();
    result.collectives_by_algorithm = routes_.launched_by_algorithm();
    result.communication_by_fit = routes_.launched_by_fit();
    result.flow_transactions = flows_.transactions();
    result.alpha_beta_transactions = alpha_beta_.transactions();
    result.flows_if_all_flows = demand_.flows;
    result.routed_sources_if_all_flows = demand_.routed_sources;
    result.route_classes_if_all_flows = demand_.route_classes;
    result.link_bytes.assign(network_.topology().link_count(), 0.0);
    flows_.add_link_bytes(result.link_bytes);
    alpha_beta_.add_link_bytes(result.link_bytes);
    return result;
  }

  void on_communication_ready(int rank, std::uint32_t op, std::uint32_t order) override {
    if (const auto transaction = matcher_.join(rank, op, order))
      launch(*transaction);
  }

  void on_transaction_done(std::uint32_t transaction) override {
    for (const Participant& p : matcher_.release(transaction))
      scheduler_.finish(p.rank, p.op);
  }

 private:
  std::vector<SimulationObserver*> with_statistics(std::vector<SimulationObserver*> observers) {
    observers.insert(observers.begin(), &statistics_);
    return observers;
  }

  void launch(std::uint32_t transaction) {
    const std::vector<Participant>& participants = matcher_.participants(transaction);
    for (const Participant& p : participants)
      scheduler_.communication_started(p.rank, p.op);
    const Participant first = participants.front();
    const auto first_index = static_cast<std::size_t>(first.rank);
    const Op& op = plan_.ops_of(first_index)[first.op];
    std::uint32_t route;
    if (op.kind == OpKind::collective) {
      route = routes_.collective(op, plan_.group_of(first_index, op));
    } else {
      // The sender's device and the receiver's, whichever of the two comes first.
      const bool sender_first = op.kind == OpKind::send;
      const Participant from = sender_first ? first : participants[1];
      const auto from_index = static_cast<std::size_t>(from.rank);
      const Op& send = plan_.ops_of(from_index)[from.op];
      route = routes_.message(plan_.ranks[from_index].device,
                              routes_.device_of_rank(plan_.peer_of(from_index, send)), send.bytes);
    }
    ++routes_[route].launched;
    TransferModel& model =
        routes_[route].alpha_beta ? static_cast<TransferModel&>(alpha_beta_) : flows_;
    model.start(transaction, route);
  }

  const Plan& plan_;
  RankStatistics statistics_;
  ObserverList observers_;
  Engine engine_;
  Network network_;
  CommRoutes routes_;
  TransactionMatcher matcher_;
  RankScheduler scheduler_;
  FlowTransferModel flows_;
  LinkRateSum link_rates_;
  AlphaBetaTransferModel alpha_beta_;
  FlowDemand demand_;
};

}  // namespace

SimulationResult simulate(const Plan& plan, const Topology& topology, const ComputeModel& compute,
                          const SimulationOptions& options,
                          const std::vector<SimulationObserver*>& observers) {
  validate_plan(plan);
  check_devices(plan, topology);
  Simulation simulation(plan, topology, compute, options, observers);
  return simulation.run();
}

}  // namespace scaleplan
