#include "sim/planner/collective_prices.hpp"

#include "sim/collective/collective.hpp"

namespace scaleplan {

namespace {

// Whether the devices of a node each have their own port into its fabric, so that transfers
// between them never meet other transfers (the simulator's test for leaving out replica copies).
bool private_ports(const Topology& topology) {
  const auto fabric = topology.node_fabric();
  return fabric && (*fabric == NodeFabric::nvswitch || *fabric == NodeFabric::nvlink_mesh);
}

// Appends to `phase` its transfers moved by each offset, but those that stay inside a node with
// private ports.
void add_copies(Phase& phase, const std::vector<int>& offsets, const Topology& topology,
                bool private_inside) {
  const std::size_t own = phase.transfers.size();
  for (int offset : offsets) {
    for (std::size_t i = 0; i < own; ++i) {
      const Transfer t = phase.transfers[i];
      if (private_inside && topology.node_of(t.src_device) == topology.node_of(t.dst_device))
        continue;
      phase.transfers.push_back({t.src_device + offset, t.dst_device + offset, t.bytes});
    }
  }
}

}  // namespace

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
    if (group_ranks(group, r, p).front() == r)
      layout.offsets.push_back(r - layout.devices.front());
  }
  return layouts_.emplace(key, std::move(layout)).first->second;
}

double CollectivePrices::collective_s(GroupKind group, CollectiveKind kind, double bytes,
                                      const ParallelismSpec& p, Concurrency concurrency) {
  return price(layout(group, p, concurrency), kind, bytes);
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

double CollectivePrices::price(Layout& l, CollectiveKind kind, double bytes) {
  if (l.devices.size() < 2 || bytes <= 0)
    return 0;
  const Priced key{kind, bytes};
  auto found = l.seconds.find(key);
  if (found != l.seconds.end())
    return found->second;
  const CollectiveAlgorithm algorithm =
      choose_algorithm(kind, l.devices, bytes, topology_, step_latency_s_);
  std::vector<Phase> phases = expand_collective(kind, algorithm, l.devices, bytes, topology_);
  const bool private_inside = private_ports(topology_);
  for (Phase& phase : phases)
    add_copies(phase, l.offsets, topology_, private_inside);
  const double seconds = estimate_collective_time_s(phases, topology_, step_latency_s_);
  l.seconds.emplace(key, seconds);
  return seconds;
}

double CollectivePrices::message_s(const ParallelismSpec& p, double bytes) {
  const auto key = std::make_tuple(p.tp, p.cp, p.dp, p.pp, bytes);
  auto found = messages_.find(key);
  if (found != messages_.end())
    return found->second;
  // Rank r sends to r + stage_ranks, the same rank of the next stage; every rank of every stage
  // but the last at once.
  const int stage_ranks = p.tp * p.cp * p.dp;
  Phase phase;
  phase.transfers.push_back({0, stage_ranks, bytes});
  std::vector<int> offsets;
  for (int r = 1; r < stage_ranks * (p.pp - 1); ++r)
    offsets.push_back(r);
  add_copies(phase, offsets, topology_, private_ports(topology_));
  const double seconds = estimate_collective_time_s({phase}, topology_, step_latency_s_);
  messages_.emplace(key, seconds);
  return seconds;
}

}  // namespace scaleplan
