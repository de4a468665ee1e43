// Choosing a collective algorithm the way NCCL's tuner does (src/graph/tuning.cc): estimate each
// algorithm's time as latency plus bytes over bandwidth on this network, take the fastest. The
// same estimate is the simulator's alpha-beta fast path.
#include <algorithm>

#include "sim/collective_detail.hpp"

namespace scaleplan {

double estimate_collective_time_s(const std::vector<Phase>& phases, const Topology& topology,
                                  double step_latency_s) {
  double total_s = 0;
  std::vector<std::pair<std::uint64_t, double>> busy;  // (port or link, seconds of transfer)
  for (const Phase& phase : phases) {
    busy.clear();
    double latency_s = 0;
    for (const Transfer& t : phase.transfers) {
      if (t.src_device == t.dst_device)
        continue;
      const Topology::EndpointPath path = topology.endpoint_path(t.src_device, t.dst_device);
      latency_s = std::max(latency_s, path.latency_s);
      if (path.routed) {
        for (LinkId l : topology.route(t.src_device, t.dst_device))
          busy.emplace_back(l, t.bytes / topology.link(l).bandwidth_bytes_per_s);
        continue;
      }
      const double seconds = t.bytes / path.bandwidth_bytes_per_s;
      busy.emplace_back(path.egress_port, seconds);
      if (path.ingress_port != path.egress_port)
        busy.emplace_back(path.ingress_port, seconds);
      for (int b = 0; b < path.bundle_count; ++b) {
        const auto& bundle = path.bundles[static_cast<std::size_t>(b)];
        busy.emplace_back(bundle.port, t.bytes / bundle.bandwidth_bytes_per_s);
      }
    }
    // The busiest port bounds the phase: sum each port's seconds.
    std::sort(busy.begin(), busy.end());
    double busiest_s = 0;
    for (std::size_t i = 0; i < busy.size();) {
      double seconds = 0;
      std::size_t j = i;
      for (; j < busy.size() && busy[j].first == busy[i].first; ++j)
        seconds += busy[j].second;
      busiest_s = std::max(busiest_s, seconds);
      i = j;
    }
    total_s += busiest_s * phase.fill_factor() + phase.steps * (step_latency_s + latency_s);
  }
  return total_s;
}

std::vector<std::pair<LinkId, double>> estimate_link_bytes(const std::vector<Phase>& phases,
                                                           const Topology& topology) {
  std::vector<std::pair<LinkId, double>> bytes;
  std::vector<LinkId> links;
  for (const Phase& phase : phases) {
    for (const Transfer& t : phase.transfers) {
      links.clear();
      topology.endpoint_links(t.src_device, t.dst_device, links);
      for (LinkId l : links)
        bytes.emplace_back(l, t.bytes);
    }
  }
  std::sort(bytes.begin(), bytes.end());
  std::vector<std::pair<LinkId, double>> merged;
  for (const auto& [link, b] : bytes) {
    if (!merged.empty() && merged.back().first == link)
      merged.back().second += b;
    else
      merged.emplace_back(link, b);
  }
  return merged;
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
