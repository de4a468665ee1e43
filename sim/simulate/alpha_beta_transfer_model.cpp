#include "sim/simulate/alpha_beta_transfer_model.hpp"

#include <algorithm>

namespace scaleplan {

AlphaBetaTransferModel::AlphaBetaTransferModel(Engine& engine, const Topology& topology,
                                               const CommRoutes& routes,
                                               double collective_step_latency_s,
                                               LinkRateSum* link_rates,
                                               TransactionDoneHandler& done)
    : engine_(engine),
      topology_(topology),
      routes_(routes),
      step_latency_s_(collective_step_latency_s),
      link_rates_(link_rates),
      done_(done),
      link_bytes_(topology.link_count(), 0.0) {}

void AlphaBetaTransferModel::start(std::uint32_t transaction, std::uint32_t route) {
  ++transactions_;
  const Cost& cost = cost_of(route);
  const Running running{route, queue_on_ports(cost)};
  for (const auto& [link, bytes] : cost.link_bytes)
    link_bytes_[link] += bytes;
  if (link_rates_) {
    if (transaction >= running_.size())
      running_.resize(transaction + 1);
    running_[transaction] = running;
    show_rates(running, true);
  }
  engine_.schedule_after(running.duration, this, transaction);
}

void AlphaBetaTransferModel::on_event(std::uint64_t transaction) {
  const auto id = static_cast<std::uint32_t>(transaction);
  if (link_rates_)
    show_rates(running_[id], false);
  done_.on_transaction_done(id);
}

const AlphaBetaTransferModel::Cost& AlphaBetaTransferModel::cost_of(std::uint32_t route) {
  if (route >= costs_.size())
    costs_.resize(route + 1);
  std::optional<Cost>& cost = costs_[route];
  if (cost)
    return *cost;
  const std::vector<Phase>& phases = routes_[route].phases;
  cost = Cost{estimate_collective_time_s(phases, topology_, step_latency_s_),
              estimate_link_bytes(phases, topology_),
              {}};
  for (const auto& [port, seconds] : estimate_port_seconds(phases, topology_)) {
    const auto [index, inserted] = port_index_.insert(port);
    if (inserted)
      port_busy_until_.push_back(0);
    cost->port_time.emplace_back(index, to_sim_time(seconds, TimeOverflow::Cause::communication));
  }
  return *cost;
}

// The ports serve fast-path traffic back to back, so concurrent collectives through a port take
// as long in all as the port needs for all of them (the last one the longest, rather than all
// the same as under fair sharing).
SimTime AlphaBetaTransferModel::queue_on_ports(const Cost& cost) {
  const SimTime now = engine_.now();
  SimTime duration = to_sim_time(cost.time_s, TimeOverflow::Cause::communication);
  for (const auto& [port, busy] : cost.port_time)
    duration = std::max(duration, std::max<SimTime>(port_busy_until_[port] - now, 0) + busy);
  for (const auto& [port, busy] : cost.port_time)
    port_busy_until_[port] = std::max(port_busy_until_[port], now) + busy;
  return duration;
}

// A transaction's links carry its bytes steadily from its start to its end.
void AlphaBetaTransferModel::show_rates(const Running& running, bool starting) {
  if (running.duration <= 0)
    return;
  const double duration_s = to_seconds(running.duration);
  for (const auto& [link, bytes] : (*costs_[running.route]).link_bytes) {
    const double rate = bytes / duration_s;
    if (starting) {
      link_rates_->add_fast(link, engine_.now(), rate);
    } else {
      link_rates_->remove_fast(link, engine_.now(), rate);
    }
  }
}

void AlphaBetaTransferModel::add_link_bytes(std::vector<double>& link_bytes) const {
  for (std::size_t l = 0; l < link_bytes_.size(); ++l)
    link_bytes[l] += link_bytes_[l];
}

}  // namespace scaleplan
