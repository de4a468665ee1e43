// Choosing a collective algorithm the way NCCL's tuner does (src/graph/tuning.cc): estimate each
// algorithm's time as latency plus bytes over bandwidth on this network, take the fastest.
#include <algorithm>

#include "sim/collective_detail.hpp"

namespace scaleplan {

double estimate_collective_time_s(const std::vector<Phase>& phases, const Topology& topology,
                                  double step_latency_s) {
  double total_s = 0;
  std::vector<std::pair<LinkId, double>> load;
  for (const Phase& phase : phases) {
    load.clear();
    double route_latency_s = 0;
    for (const Transfer& t : phase.transfers) {
      if (t.src_device == t.dst_device)
        continue;
      for (LinkId l : topology.route(t.src_device, t.dst_device))
        load.emplace_back(l, t.bytes);
      route_latency_s =
          std::max(route_latency_s, topology.route_latency_s(t.src_device, t.dst_device));
    }
    // The busiest link bounds the phase: sum each link's bytes.
    std::sort(load.begin(), load.end());
    double busiest_s = 0;
    for (std::size_t i = 0; i < load.size();) {
      double bytes = 0;
      std::size_t j = i;
      for (; j < load.size() && load[j].first == load[i].first; ++j)
        bytes += load[j].second;
      busiest_s = std::max(busiest_s, bytes / topology.link(load[i].first).bandwidth_bytes_per_s);
      i = j;
    }
    total_s += busiest_s * phase.fill_factor() + phase.steps * (step_latency_s + route_latency_s);
  }
  return total_s;
}

CollectiveAlgorithm choose_algorithm(CollectiveKind kind, const std::vector<int>& devices,
                                     double bytes, const Topology& topology,
                                     double step_latency_s) {
  if (kind == CollectiveKind::all_to_all)
    return CollectiveAlgorithm::direct;
  if (devices.size() <= 1 || kind == CollectiveKind::broadcast)
    return CollectiveAlgorithm::ring;
  CollectiveAlgorithm best = CollectiveAlgorithm::ring;
  double best_s = 0;
  bool first = true;
  const bool torus = !topology.torus_dims().empty();
  for (CollectiveAlgorithm candidate :
       {CollectiveAlgorithm::ring, CollectiveAlgorithm::double_binary_tree,
        CollectiveAlgorithm::hierarchical, CollectiveAlgorithm::torus,
        CollectiveAlgorithm::in_network}) {
    if (!algorithm_applies(kind, candidate, devices, topology))
      continue;
    // On a torus the collectives are XLA's rings along the axes; NCCL's trees and its node
    // hierarchy are GPU-cluster algorithms that TPUs do not run.
    if (torus && (candidate == CollectiveAlgorithm::double_binary_tree ||
                  candidate == CollectiveAlgorithm::hierarchical))
      continue;
    const double t = estimate_collective_time_s(
        expand_collective(kind, candidate, devices, bytes, topology), topology, step_latency_s);
    if (first || t < best_s) {
      best = candidate;
      best_s = t;
      first = false;
    }
  }
  return best;
}

}  // namespace scaleplan
