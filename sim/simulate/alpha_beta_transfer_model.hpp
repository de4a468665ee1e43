// Transactions on the alpha-beta fast path: no flows. A transaction alone on an idle network takes
// its estimate (estimate_collective_time_s): a bandwidth part, its phases' busiest ports' seconds
// stretched by their pipeline fill, then a latency part, its phases' steps. Transactions whose
// bandwidth parts overlap share their ports by processor sharing: each port is a resource of
// capacity one, a transaction running at a fraction f of its speed alone takes w/B · f of a port
// it needs w seconds of (B its bandwidth part), and the fractions are max-min fair
// (WeightedMaxMinSolver) with each at most 1. So a 6 MB message that reaches a NIC behind a 1.8 GB
// reduce-scatter takes half the port beside it instead of waiting out its backlog, and
// collectives that saturate a port take as long in all as the port needs for all of them, as
// flows sharing a link do. Only ports asked for more than they hold are solved; a transaction
// that needs none of them runs at its speed alone. Its bytes land on the links the estimate can
// name (estimate_link_bytes).
//
// The starts and ends of one simulated instant at contended ports are shared out once, when the
// instant ends (Engine::at_instant_end), over the part their ports reach: a phase whose thousands
// of transfers start together costs one solve, not one per transfer. The rates are those that
// solving after each change would leave at the end of the instant (max-min is decided per
// connected part, from the part's final state), so batching changes no prediction.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/engine/dense_ids.hpp"
#include "sim/engine/engine.hpp"
#include "sim/engine/maxmin.hpp"
#include "sim/simulate/comm_routes.hpp"
#include "sim/simulate/link_rate_sum.hpp"
#include "sim/simulate/transfer_model.hpp"

namespace scaleplan {

class AlphaBetaTransferModel final : public TransferModel,
                                     public EventHandler,
                                     public InstantEndHandler {
 public:
  // `link_rates`, when not null, is told the rate each transaction puts on its links while it
  // runs. All references must outlive the model.
  AlphaBetaTransferModel(Engine& engine, const Topology& topology, const CommRoutes& routes,
                         double collective_step_latency_s, LinkRateSum* link_rates,
                         TransactionDoneHandler& done);

  void start(std::uint32_t transaction, std::uint32_t route) override;
  std::uint64_t transactions() const override { return transactions_; }
  // How many times contended ports were shared again: at most once per simulated instant, however
  // many transactions started or ended at it (their changes are gathered until the instant ends).
  std::uint64_t reshares() const { return reshares_; }
  void add_link_bytes(std::vector<double>& link_bytes) const override;

  // The end of a transaction's bandwidth part (if still current) or of its latency part.
  void on_event(std::uint64_t payload) override;
  // Shares the ports again after this instant's starts and ends at contended ports, all at once.
  void on_instant_end() override;

 private:
  // What the fast path charges for a route: its bandwidth part and its latency part alone on
  // the network, the bytes it puts on the links it can name, and its share of each of its ports
  // while it runs alone (seconds the port spends on it over the bandwidth part), by the model's
  // own dense port index.
  struct Cost {
    double bandwidth_s = 0;
    double latency_s = 0;
    std::vector<std::pair<LinkId, double>> link_bytes;
    std::vector<std::pair<std::uint32_t, double>> port_share;
  };
  // A transaction in its bandwidth part.
  struct Running {
    std::uint32_t route = 0;
    double remaining_s = 0;  // of its bandwidth part, at its speed alone
    double rate = 1;         // the fraction of its speed alone it runs at
    SimTime since = 0;       // when remaining_s was last brought up to date
    std::uint32_t generation = 0;
    bool active = false;
    bool unscheduled = false;  // started at a contended port: its end waits for the reshare
    // Where it stands in each of its ports' lists (index: its cost's port_share), so that it
    // leaves each in O(1).
    std::vector<std::uint32_t> position;
  };
  struct Port {
    double demand = 0;  // the sum of the shares of the running transactions on it
    // The running transactions on it, in no particular order (a leaving one's place is taken by
    // the last); reshare sorts what it gathers from them.
    std::vector<std::uint32_t> transactions;
    std::vector<std::uint32_t> slot;  // beside each: the port's index in its cost's port_share
  };

  const Cost& cost_of(std::uint32_t route);
  void join_ports(std::uint32_t transaction, const Cost& cost);
  void leave_ports(std::uint32_t transaction, const Cost& cost);
  // Marks `cost`'s ports as changed in this instant; on_instant_end reshares from them.
  void defer_reshare(const Cost& cost);
  // Brings the rates up to date after the demands of the changed ports (changed_ports_)
  // changed, and schedules the end of each transaction whose rate changed or was unscheduled.
  void reshare();
  void set_rate(std::uint32_t transaction, double rate);
  void schedule_end(std::uint32_t transaction);
  void show_rates(const Running& running, double rate, bool starting);

  Engine& engine_;
  const Topology& topology_;
  const CommRoutes& routes_;
  double step_latency_s_;
  LinkRateSum* link_rates_;
  TransactionDoneHandler& done_;
  std::vector<std::optional<Cost>> costs_;  // by route, computed on first use
  std::vector<double> link_bytes_;          // bytes the fast path put on each link
  // Each port the fast path has used (estimate_port_seconds' ids), densely numbered.
  DenseIds port_index_;  // port id to its index in ports_
  std::vector<Port> ports_;
  std::vector<Running> running_;  // by transaction id
  // Whether each port was asked for more than it holds, as of the last reshare that reached it
  // (join_ports sets it at once).
  std::vector<char> is_contended_;
  std::uint64_t transactions_ = 0;
  std::uint64_t reshares_ = 0;

  // Scratch space for reshare.
  WeightedMaxMinSolver solver_;
  std::vector<std::uint32_t> members_;
  std::vector<std::uint32_t> member_of_;  // by transaction id: index in members_ + 1, 0 if none
  std::vector<std::uint32_t> local_port_;
  std::vector<double> capacity_;
  std::vector<double> cap_;
  std::vector<std::uint32_t> begin_;
  std::vector<std::uint32_t> resources_;
  std::vector<double> weights_;
  std::vector<std::uint32_t> contended_;  // the part's contended ports
  std::vector<std::uint32_t> part_ports_;
  std::vector<char> port_seen_;
  // This instant's changed ports (each once) and whether on_instant_end has been asked for.
  std::vector<std::uint32_t> changed_ports_;
  std::vector<char> port_changed_;
  bool reshare_asked_ = false;
};

}  // namespace scaleplan
