#include "sim/simulate/flow_transfer_model.hpp"

#include <algorithm>

namespace scaleplan {

FlowTransferModel::FlowTransferModel(Engine& engine, Network& network, const CommRoutes& routes,
                                     double collective_step_latency_s, TransactionDoneHandler& done)
    : engine_(engine),
      network_(network),
      routes_(routes),
      step_latency_s_(collective_step_latency_s),
      done_(done) {}

void FlowTransferModel::start(std::uint32_t transaction, std::uint32_t route) {
  ++transactions_;
  if (transaction >= progress_.size())
    progress_.resize(transaction + 1);
  progress_[transaction] = Progress{route, 0, 0, 0};
  start_phase(transaction);
}

void FlowTransferModel::start_phase(std::uint32_t transaction) {
  Progress& p = progress_[transaction];
  const std::vector<Phase>& phases = routes_[p.route].phases;
  if (p.phase >= phases.size()) {
    done_.on_transaction_done(transaction);
    return;
  }
  const Phase& phase = phases[p.phase];
  p.phase_start = engine_.now();
  p.outstanding_flows = phase.transfers.size();
  if (phase.transfers.empty()) {
    engine_.schedule_after(0, this, transaction);
    return;
  }
  starts_.clear();
  for (const Transfer& tr : phase.transfers)
    starts_.push_back({tr.src_device, tr.dst_device, tr.bytes, transaction});
  network_.start_flows(starts_, this);
}

void FlowTransferModel::on_flow_done(std::uint64_t token) {
  const auto transaction = static_cast<std::uint32_t>(token);
  Progress& p = progress_[transaction];
  if (--p.outstanding_flows > 0)
    return;
  // The phase's steps each pay the software step cost and the wire latency of the longest
  // route among its transfers.
  const Phase& phase = routes_[p.route].phases[p.phase];
  const Topology& topology = network_.topology();
  double route_latency = 0;
  for (const Transfer& tr : phase.transfers)
    route_latency = std::max(route_latency, topology.route_latency_s(tr.src_device, tr.dst_device));
  // A pipelined phase also waits for its fill: the flow time stretched by fill_factor().
  const double fill = to_seconds(engine_.now() - p.phase_start) * (phase.fill_factor() - 1.0);
  const double latency = fill + phase.steps * (step_latency_s_ + route_latency);
  engine_.schedule_after(to_sim_time(latency, TimeOverflow::Cause::communication), this,
                         transaction);
}

void FlowTransferModel::on_event(std::uint64_t transaction) {
  const auto id = static_cast<std::uint32_t>(transaction);
  ++progress_[id].phase;
  start_phase(id);
}

void FlowTransferModel::add_link_bytes(std::vector<double>& link_bytes) const {
  const std::vector<double>& carried = network_.link_bytes();
  for (std::size_t l = 0; l < carried.size(); ++l)
    link_bytes[l] += carried[l];
}

}  // namespace scaleplan
