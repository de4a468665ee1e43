// Transactions as flows: each phase's transfers start together as flows on the Network, in one
// recomputation of the rates, and share links max-min fairly with all other traffic; a phase
// ends when its last flow has arrived, plus its pipeline fill and its steps' latency (software
// step cost and the longest route's wire latency); the next phase starts then.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/engine/engine.hpp"
#include "sim/engine/network.hpp"
#include "sim/simulate/comm_routes.hpp"
#include "sim/simulate/transfer_model.hpp"

namespace scaleplan {

class FlowTransferModel final : public TransferModel, public FlowObserver, public EventHandler {
 public:
  // All references must outlive the model.
  FlowTransferModel(Engine& engine, Network& network, const CommRoutes& routes,
                    double collective_step_latency_s, TransactionDoneHandler& done);

  void start(std::uint32_t transaction, std::uint32_t route) override;
  std::uint64_t transactions() const override { return transactions_; }
  void add_link_bytes(std::vector<double>& link_bytes) const override;

  void on_flow_done(std::uint64_t transaction) override;
  // A phase's end.
  void on_event(std::uint64_t transaction) override;

 private:
  struct Progress {
    std::uint32_t route = 0;
    std::uint32_t phase = 0;
    SimTime phase_start = 0;
    std::size_t outstanding_flows = 0;
  };

  void start_phase(std::uint32_t transaction);

  Engine& engine_;
  Network& network_;
  const CommRoutes& routes_;
  double step_latency_s_;
  TransactionDoneHandler& done_;
  std::vector<Progress> progress_;          // by transaction id
  std::vector<Network::FlowStart> starts_;  // the phase starting
  std::uint64_t transactions_ = 0;
};

}  // namespace scaleplan
