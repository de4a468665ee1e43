// Choosing a collective algorithm the way NCCL's tuner does (src/graph/tuning.cc): estimate each
// algorithm's time as latency plus bytes over bandwidth on this network, take the fastest. The
// same estimate is the simulator's alpha-beta fast path.
#include <algorithm>

#include "sim/collective/collective_detail.hpp"

namespace scaleplan {

namespace {

// Appends the seconds each port (each link, where devices forward) spends on the phase's
// transfers, and returns the phase's longest path latency.
double add_port_seconds(const Phase& phase, const Topology& topology,
                        std::vector<std::pair<std::uint64_t, double>>& busy) {
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
  return latency_s;
}

// Sorts by key and keeps each key once, with the sum of its values; in place, so that callers
// reuse the vector's storage.
template <typename Key>
void merge_by_key(std::vector<std::pair<Key, double>>& amounts) {
  std::sort(amounts.begin(), amounts.end());
  std::size_t kept = 0;
  for (std::size_t i = 0; i < amounts.size(); ++i) {
    if (kept > 0 && amounts[kept - 1].first == amounts[i].first)
      amounts[kept - 1].second += amounts[i].second;
    else
      amounts[kept++] = amounts[i];
  }
  amounts.resize(kept);
}

// phase_load with the caller's storage for the ports' seconds.
PhaseLoad phase_load(const Phase& phase, const Topology& topology,
                     std::vector<std::pair<std::uint64_t, double>>& busy) {
  busy.clear();
  PhaseLoad load;
  load.latency_s = add_port_seconds(phase, topology, busy);
  merge_by_key(busy);
  // The busiest port bounds the phase.
  for (const auto& [port, seconds] : busy)
    load.busiest_s = std::max(load.busiest_s, seconds);
  return load;
}

}  // namespace

PhaseLoad phase_load(const Phase& phase, const Topology& topology) {
  std::vector<std::pair<std::uint64_t, double>> busy;
  return phase_load(phase, topology, busy);
}

double phase_time_s(const Phase& phase, const PhaseLoad& load, double step_latency_s) {
  return load.busiest_s * phase.fill_factor() + phase.steps * (step_latency_s + load.latency_s);
}

double estimate_collective_time_s(const std::vector<Phase>& phases, const Topology& topology,
                                  double step_latency_s) {
  double total_s = 0;
  std::vector<std::pair<std::uint64_t, double>> busy;
  for (const Phase& phase : phases)
    total_s += phase_time_s(phase, phase_load(phase, topology, busy), step_latency_s);
  return total_s;
}

std::vector<std::pair<std::uint64_t, double>> estimate_port_seconds(
    const std::vector<Phase>& phases, const Topology& topology) {
  std::vector<std::pair<std::uint64_t, double>> busy;
  for (const Phase& phase : phases)
    add_port_seconds(phase, topology, busy);
  merge_by_key(busy);
  return busy;
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
  merge_by_key(bytes);
  return bytes;
}

std::vector<CollectiveAlgorithm> algorithm_candidates(CollectiveKind kind,
                                                      const std::vector<int>& devices,
                                                      const Topology& topology) {
  if (kind == CollectiveKind::all_to_all)
    return {CollectiveAlgorithm::direct};
  if (devices.size() <= 1 || kind == CollectiveKind::broadcast)
    return {CollectiveAlgorithm::ring};
  std::vector<CollectiveAlgorithm> candidates;
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
    candidates.push_back(candidate);
  }
  if (candidates.empty())
    candidates.push_back(CollectiveAlgorithm::ring);
  return candidates;
}

CollectiveAlgorithm choose_algorithm(CollectiveKind kind, const std::vector<int>& devices,
                                     double bytes, const Topology& topology,
                                     double step_latency_s) {
  const std::vector<CollectiveAlgorithm> candidates = algorithm_candidates(kind, devices, topology);
  if (candidates.size() == 1)
    return candidates.front();
  CollectiveAlgorithm best = candidates.front();
  double best_s = 0;
  bool first = true;
  for (CollectiveAlgorithm candidate : candidates) {
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
