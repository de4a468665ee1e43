#include "sim/planner/collective_prices.hpp"

#include "sim/collective/collective.hpp"
#include "sim/collective/expert_dispatch.hpp"

namespace scaleplan {

namespace {

// Whether the devices of a node each have their own port into its fabric, so that transfers
// between them never meet other transfers (the simulator's test for leaving out replica copies).
bool private_ports(const Topology& topology, int node) {
  const auto fabric = topology.node_fabric_of(node);
  return fabric && (*fabric == NodeFabric::nvswitch || *fabric == NodeFabric::nvlink_mesh);
}

// Appends to `phase` its transfers moved by each offset, but those that stay inside a node with
// private ports.
void add_copies(Phase& phase, const std::vector<int>& offsets, const Topology& topology) {
  const std::size_t own = phase.transfers.size();
  for (int offset : offsets) {
    for (std::size_t i = 0; i < own; ++i) {
      const Transfer t = phase.transfers[i];
      const int node = topology.node_of(t.src_device);
      if (node == topology.node_of(t.dst_device) && private_ports(topology, node))
        continue;
      phase.transfers.push_back({t.src_device + offset, t.dst_device + offset, t.bytes});
    }
  }
}

}  // namespace

std::optional<double> CollectivePrices::fitted_s(CollectiveOp op, const std::vector<int>& devices,
                                                 double bytes) const {
  if (!calibration_ || calibration_->empty() || devices.size() < 2)
    return std::nullopt;
  const CollectiveFitOutcome outcome =
      calibration_->time(op, group_shape(devices, topology_), bytes);
  if (!outcome.time)
    return std::nullopt;
  return outcome.time->latency_s + outcome.time->bandwidth_s;
}

CollectivePrices::Layout& CollectivePrices::layout(GroupKind group, const ParallelismSpec& p,
                                                   Concurrency concurrency) {
  const auto key = std::make_tuple(group, concurrency, p.tp, p.pp, p.cp, p.dp, p.ep);
  auto found = layouts_.find(key);
  if (found != layouts_.end())
    return found->second;
  Layout layout;
  // Ranks run on the devices of the same number. Each group once, by its first member.
  layout.devices = group_ranks(group, 0, p);
  const int ranks = concurrency == Concurrency::stage ? p.tp * p.cp * p.dp : p.world_size();
  for (int r = 1; r < ranks; ++r) {
    if (group_leader(group, r, p) == r)
      layout.offsets.push_back(r - layout.devices.front());
  }
  return layouts_.emplace(key, std::move(layout)).first->second;
}

double CollectivePrices::collective_s(GroupKind group, CollectiveKind kind, double bytes,
                                      const ParallelismSpec& p, Concurrency concurrency) {
  return price(layout(group, p, concurrency), kind, bytes);
}

double CollectivePrices::expert_dispatch_s(const ParallelismSpec& p, const ExpertDispatch& dispatch,
                                           double bytes) {
  Layout& l = layout(GroupKind::ep, p, Concurrency::world);
  if (l.devices.size() < 2 || bytes <= 0)
    return 0;
  const ExpertRouting& r = dispatch.routing;
  const auto key = std::make_tuple(
      p.tp, p.pp, p.cp, p.dp, p.ep, static_cast<int>(dispatch.dispatcher), static_cast<int>(r.kind),
      r.experts, r.top_k, r.router_groups, r.router_group_topk, dispatch.copies_per_token, bytes);
  if (auto found = dispatches_.find(key); found != dispatches_.end())
    return found->second;
  if (auto fitted = fitted_s(CollectiveOp::all_to_all, l.devices, bytes)) {
    dispatches_.emplace(key, *fitted);
    return *fitted;
  }
  std::vector<Phase> phases = expand_expert_dispatch(dispatch, l.devices, bytes, topology_);
  for (Phase& phase : phases)
    add_copies(phase, l.offsets, topology_);
  const double seconds = estimate_collective_time_s(phases, topology_, step_latency_s_);
  dispatches_.emplace(key, seconds);
  return seconds;
}

double CollectivePrices::embedding_all_reduce_s(const ParallelismSpec& p, double bytes) {
  const auto key = std::make_tuple(p.tp, p.cp, p.dp, p.pp);
  auto found = embedding_layouts_.find(key);
  if (found == embedding_layouts_.end()) {
    // The plan builder's embedding group: a rank of the first stage and the same rank of the last.
    const int stage_ranks = p.tp * p.cp * p.dp;
    Layout layout;
    layout.devices = {0, rank_of({0, 0, 0, p.pp - 1}, p)};
    for (int r = 1; r < stage_ranks; ++r)
      layout.offsets.push_back(r);
    found = embedding_layouts_.emplace(key, std::move(layout)).first;
  }
  return price(found->second, CollectiveKind::all_reduce, bytes);
}

CollectivePrices::Loads& CollectivePrices::loads(Layout& l, CollectiveKind kind,
                                                 CollectiveAlgorithm algorithm) {
  const auto key = std::make_pair(kind, algorithm);
  auto found = l.loads.find(key);
  if (found != l.loads.end())
    return found->second;
  Loads loads;
  for (const Phase& phase : expand_collective(kind, algorithm, l.devices, 1.0, topology_)) {
    loads.transfers.push_back(phase.transfers.size());
    loads.alone.push_back(phase_load(phase, topology_));
  }
  return l.loads.emplace(key, std::move(loads)).first->second;
}

std::optional<double> CollectivePrices::seconds_of(const std::vector<Phase>& phases,
                                                   const Loads& loads,
                                                   const std::vector<PhaseLoad>& per_byte,
                                                   double bytes) const {
  if (phases.size() != per_byte.size())
    return std::nullopt;
  double seconds = 0;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    if (phases[i].transfers.size() != loads.transfers[i])
      return std::nullopt;
    seconds += phase_time_s(phases[i], {per_byte[i].busiest_s * bytes, per_byte[i].latency_s},
                            step_latency_s_);
  }
  return seconds;
}

double CollectivePrices::price(Layout& l, CollectiveKind kind, double bytes) {
  if (l.devices.size() < 2 || bytes <= 0)
    return 0;
  const Priced key{kind, bytes};
  auto found = l.seconds.find(key);
  if (found != l.seconds.end())
    return found->second;
  if (auto fitted = fitted_s(measured_op(kind), l.devices, bytes)) {
    l.seconds.emplace(key, *fitted);
    return *fitted;
  }
  auto candidates = l.candidates.find(kind);
  if (candidates == l.candidates.end())
    candidates = l.candidates.emplace(kind, algorithm_candidates(kind, l.devices, topology_)).first;
  // choose_algorithm's choice: the least time of the first group alone, the earlier on ties.
  std::vector<Phase> phases;
  CollectiveAlgorithm algorithm = candidates->second.front();
  double best_s = 0;
  for (CollectiveAlgorithm candidate : candidates->second) {
    std::vector<Phase> expanded = expand_collective(kind, candidate, l.devices, bytes, topology_);
    if (candidates->second.size() > 1) {
      const Loads& per_byte = loads(l, kind, candidate);
      const double alone_s =
          seconds_of(expanded, per_byte, per_byte.alone, bytes)
              .value_or(estimate_collective_time_s(expanded, topology_, step_latency_s_));
      if (!phases.empty() && alone_s >= best_s)
        continue;
      best_s = alone_s;
    }
    algorithm = candidate;
    phases = std::move(expanded);
  }
  Loads& per_byte = loads(l, kind, algorithm);
  if (per_byte.together.empty()) {
    for (Phase& phase : expand_collective(kind, algorithm, l.devices, 1.0, topology_)) {
      add_copies(phase, l.offsets, topology_);
      per_byte.together.push_back(phase_load(phase, topology_));
    }
  }
  std::optional<double> seconds = seconds_of(phases, per_byte, per_byte.together, bytes);
  if (!seconds) {
    for (Phase& phase : phases)
      add_copies(phase, l.offsets, topology_);
    seconds = estimate_collective_time_s(phases, topology_, step_latency_s_);
  }
  l.seconds.emplace(key, *seconds);
  return *seconds;
}

double CollectivePrices::message_s(const ParallelismSpec& p, double bytes) {
  const auto key = std::make_tuple(p.tp, p.cp, p.dp, p.pp);
  // Rank r sends to r + stage_ranks, the same rank of the next stage; every rank of every stage
  // but the last at once.
  const int stage_ranks = p.tp * p.cp * p.dp;
  if (auto fitted = fitted_s(CollectiveOp::send_recv, {0, stage_ranks}, bytes))
    return *fitted;
  auto found = messages_.find(key);
  if (found == messages_.end()) {
    Phase phase;
    phase.transfers.push_back({0, stage_ranks, 1.0});
    std::vector<int> offsets;
    for (int r = 1; r < stage_ranks * (p.pp - 1); ++r)
      offsets.push_back(r);
    add_copies(phase, offsets, topology_);
    found = messages_.emplace(key, phase_load(phase, topology_)).first;
  }
  return phase_time_s(Phase{}, {found->second.busiest_s * bytes, found->second.latency_s},
                      step_latency_s_);
}

}  // namespace scaleplan
