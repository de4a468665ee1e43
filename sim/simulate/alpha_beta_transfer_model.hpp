// Transactions on the alpha-beta fast path: no flows. A transaction takes its time alone on an
// idle network (estimate_collective_time_s), or longer where one of its ports is still working
// off earlier fast-path traffic, whose backlog it then joins; its bytes land on the links the
// estimate can name (estimate_link_bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/engine/dense_ids.hpp"
#include "sim/engine/engine.hpp"
#include "sim/simulate/comm_routes.hpp"
#include "sim/simulate/link_rate_sum.hpp"
#include "sim/simulate/transfer_model.hpp"

namespace scaleplan {

class AlphaBetaTransferModel final : public TransferModel, public EventHandler {
 public:
  // `link_rates`, when not null, is told the rate each transaction puts on its links while it
  // runs. All references must outlive the model.
  AlphaBetaTransferModel(Engine& engine, const Topology& topology, const CommRoutes& routes,
                         double collective_step_latency_s, LinkRateSum* link_rates,
                         TransactionDoneHandler& done);

  void start(std::uint32_t transaction, std::uint32_t route) override;
  std::uint64_t transactions() const override { return transactions_; }
  void add_link_bytes(std::vector<double>& link_bytes) const override;

  // A transaction's end.
  void on_event(std::uint64_t transaction) override;

 private:
  // What the fast path charges for a route: its time alone on the network, the bytes it puts on
  // the links it can name, and the time it occupies each of its ports (estimate_port_seconds),
  // by the model's own dense port index.
  struct Cost {
    double time_s = 0;
    std::vector<std::pair<LinkId, double>> link_bytes;
    std::vector<std::pair<std::uint32_t, SimTime>> port_time;
  };
  struct Running {
    std::uint32_t route = 0;
    SimTime duration = 0;
  };

  const Cost& cost_of(std::uint32_t route);
  SimTime queue_on_ports(const Cost& cost);
  void show_rates(const Running& running, bool starting);

  Engine& engine_;
  const Topology& topology_;
  const CommRoutes& routes_;
  double step_latency_s_;
  LinkRateSum* link_rates_;
  TransactionDoneHandler& done_;
  std::vector<std::optional<Cost>> costs_;  // by route, computed on first use
  std::vector<double> link_bytes_;          // bytes the fast path put on each link
  // Each port the fast path has used (estimate_port_seconds' ids), densely numbered, and when it
  // will have worked off the fast-path traffic given to it.
  DenseIds port_index_;  // port id to its index in port_busy_until_
  std::vector<SimTime> port_busy_until_;
  std::vector<Running> running_;  // by transaction id, with link rates only
  std::uint64_t transactions_ = 0;
};

}  // namespace scaleplan
