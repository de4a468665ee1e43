#include "sim/collective/collective.hpp"

#include <map>
#include <stdexcept>

#include "sim/collective/collective_detail.hpp"

namespace scaleplan {

using namespace collective_detail;

namespace collective_detail {

Phase ring_phase(const std::vector<int>& devices, double bytes_per_member, int steps) {
  Phase phase;
  phase.steps = steps;
  const std::size_t n = devices.size();
  for (std::size_t i = 0; i < n; ++i) {
    phase.transfers.push_back({devices[i], devices[(i + 1) % n], bytes_per_member});
  }
  return phase;
}

std::vector<std::vector<int>> members_by_node(const std::vector<int>& devices,
                                              const Topology& topology) {
  std::vector<std::vector<int>> nodes;
  std::vector<int> node_ids;
  for (int d : devices) {
    const int node = topology.node_of(d);
    std::size_t i = 0;
    while (i < node_ids.size() && node_ids[i] != node)
      ++i;
    if (i == node_ids.size()) {
      node_ids.push_back(node);
      nodes.emplace_back();
    }
    nodes[i].push_back(d);
  }
  return nodes;
}

std::optional<std::size_t> uniform_members_per_node(const std::vector<std::vector<int>>& nodes) {
  for (const auto& members : nodes) {
    if (members.size() != nodes.front().size())
      return std::nullopt;
  }
  return nodes.front().size();
}

Phase channel_ring_phase(const std::vector<int>& devices, double bytes_per_member, int steps,
                         const Topology& topology) {
  if (!topology.node_fabric() || !topology.torus_dims().empty())
    return ring_phase(devices, bytes_per_member, steps);
  const std::vector<std::vector<int>> nodes = members_by_node(devices, topology);
  const auto per_node = uniform_members_per_node(nodes);
  if (nodes.size() < 2 || !per_node || *per_node < 2)
    return ring_phase(devices, bytes_per_member, steps);
  const std::size_t m = *per_node;
  const std::size_t n = nodes.size();
  Phase phase;
  phase.steps = steps;
  // Channel c's ring runs through every node from its c-th member round to the one before it;
  // every channel crosses each link inside a node once, 1/m of the bytes each time.
  for (const auto& members : nodes) {
    for (std::size_t j = 0; j < m; ++j)
      phase.transfers.push_back({members[j], members[(j + 1) % m], bytes_per_member});
  }
  // Between nodes channel c goes from the c-th member of a node to the c-th of the next.
  const double per_channel = bytes_per_member / static_cast<double>(m);
  for (std::size_t c = 0; c < m; ++c) {
    for (std::size_t k = 0; k < n; ++k)
      phase.transfers.push_back({nodes[k][c], nodes[(k + 1) % n][c], per_channel});
  }
  return phase;
}

}  // namespace collective_detail

namespace {

std::vector<Phase> ring(CollectiveKind kind, const std::vector<int>& devices, double bytes,
                        const Topology& topology) {
  const double nd = static_cast<double>(devices.size());
  const int n_steps = static_cast<int>(devices.size()) - 1;
  switch (kind) {
    case CollectiveKind::all_reduce:
      // Reduce-scatter then all-gather: 2(n-1) steps of S/n each.
      return {channel_ring_phase(devices, 2.0 * (nd - 1) / nd * bytes, 2 * n_steps, topology)};
    case CollectiveKind::reduce_scatter:
    case CollectiveKind::all_gather:
      return {channel_ring_phase(devices, (nd - 1) / nd * bytes, n_steps, topology)};
    case CollectiveKind::broadcast: {
      // Pipelined ring broadcast: the buffer streams once around the ring (n-1 hops).
      Phase phase;
      phase.steps = n_steps;
      for (std::size_t i = 0; i + 1 < devices.size(); ++i)
        phase.transfers.push_back({devices[i], devices[i + 1], bytes});
      return {phase};
    }
    case CollectiveKind::all_to_all:
      // Ring all-to-all: a block for the member d hops away crosses d links, so each ring link
      // carries the sum over d of d·S/n = (n-1)·S/2.
      return {ring_phase(devices, (nd - 1) / 2.0 * bytes, n_steps)};
  }
  return {};
}

// Every member sends S/n to every other. Between NVSwitch nodes a block for another node goes as
// NCCL sends it with PXN (NCCL_P2P_PXN_LEVEL 2, its default since 2.12): over NVLink to the member
// of its own node with the destination's local index, then from that member's NIC to the
// destination, on the destination's rail, so no block crosses between rails in the network.
// Blocks that take the same pair of devices are one transfer.
std::vector<Phase> direct_all_to_all(const std::vector<int>& devices, double bytes,
                                     const Topology& topology) {
  const std::size_t n = devices.size();
  const double block = bytes / static_cast<double>(n);
  const bool pxn = topology.node_fabric() && topology.node_count() > 1;
  std::vector<char> member(pxn ? static_cast<std::size_t>(topology.device_count()) : 0, 0);
  for (int d : devices) {
    if (pxn)
      member[static_cast<std::size_t>(d)] = 1;
  }
  Phase phase;
  phase.steps = 1;
  std::map<std::pair<int, int>, std::size_t> index;
  const auto add = [&](int src, int dst, double amount) {
    const auto [it, inserted] = index.try_emplace({src, dst}, phase.transfers.size());
    if (inserted)
      phase.transfers.push_back({src, dst, amount});
    else
      phase.transfers[it->second].bytes += amount;
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j)
        continue;
      const int src = devices[i], dst = devices[j];
      const int src_node = topology.node_of(src), dst_node = topology.node_of(dst);
      // The proxy: the member of the source's node with the destination's local index, where
      // the source's node is an NVSwitch node that has one (node groups differ in size).
      const int dst_local = dst - topology.node_first_device(dst_node);
      const int proxy = topology.node_first_device(src_node) + dst_local;
      const bool has_proxy = pxn && src_node != dst_node &&
                             topology.node_fabric_of(src_node) == NodeFabric::nvswitch &&
                             dst_local < topology.node_device_count(src_node) && proxy != src;
      if (has_proxy && member[static_cast<std::size_t>(proxy)]) {
        add(src, proxy, block);
        add(proxy, dst, block);
      } else {
        add(src, dst, block);
      }
    }
  }
  return {phase};
}

// Members 0..p-1 (p the largest power of two ≤ n) exchange with the member `distance` away in
// the bit sense; the n − p others are folded onto members 0..n−p−1 before and after (Thakur,
// Rabenseifner, Gropp, "Optimization of Collective Communication Operations in MPICH", 2005).
std::vector<Phase> halving_doubling(CollectiveKind kind, const std::vector<int>& devices,
                                    double bytes) {
  const std::size_t n = devices.size();
  std::size_t p = 1;
  while (p * 2 <= n)
    p *= 2;
  const std::size_t extra = n - p;
  const double pd = static_cast<double>(p);
  auto exchange = [&](std::size_t distance, double bytes_each) {
    Phase phase;
    for (std::size_t i = 0; i < p; ++i)
      phase.transfers.push_back({devices[i], devices[i ^ distance], bytes_each});
    return phase;
  };
  auto fold = [&](bool inward, double bytes_each) {
    Phase phase;
    for (std::size_t i = 0; i < extra; ++i) {
      const int outer = devices[p + i];
      const int inner = devices[i];
      phase.transfers.push_back({inward ? outer : inner, inward ? inner : outer, bytes_each});
    }
    return phase;
  };
  const bool reduce = kind != CollectiveKind::all_gather;
  const bool gather = kind != CollectiveKind::reduce_scatter;
  std::vector<Phase> phases;
  // Folded members hand in their whole input (reductions) or their shard (gathers).
  if (extra > 0)
    phases.push_back(fold(true, reduce ? bytes : bytes / static_cast<double>(n)));
  if (reduce) {
    // Halving: distance p/2 with S/2, p/4 with S/4, ..., 1 with S/p.
    double share = bytes / 2;
    for (std::size_t distance = p / 2; distance >= 1; distance /= 2, share /= 2)
      phases.push_back(exchange(distance, share));
  }
  if (gather) {
    // Doubling: distance 1 with S/p, 2 with 2S/p, ..., p/2 with S/2.
    double share = bytes / pd;
    for (std::size_t distance = 1; distance < p; distance *= 2, share *= 2)
      phases.push_back(exchange(distance, share));
  }
  if (extra > 0)
    phases.push_back(fold(false, gather ? bytes : bytes / static_cast<double>(n)));
  return phases;
}

// Every member's link to the switch carries S up and S down once, as in the aggregation tree of
// the switches; a shift by one member gives each member exactly that send and that receive.
std::vector<Phase> in_network_all_reduce(const std::vector<int>& devices, double bytes) {
  return {ring_phase(devices, bytes, 1)};
}

bool in_network_fits(const std::vector<int>& devices, const Topology& topology) {
  if (!topology.in_network_reduction() || !topology.node_fabric())
    return false;
  const auto nodes = members_by_node(devices, topology);
  // Inside one NVSwitch node (NVLS), or one member on each of several nodes (SHARP in the
  // network switches).
  if (nodes.size() == 1)
    return topology.node_fabric_of(topology.node_of(devices.front())) == NodeFabric::nvswitch;
  return nodes.size() == devices.size() && topology.torus_dims().empty();
}

}  // namespace

bool algorithm_applies(CollectiveKind kind, CollectiveAlgorithm algorithm,
                       const std::vector<int>& devices, const Topology& topology) {
  const bool reduction_or_gather = kind == CollectiveKind::all_reduce ||
                                   kind == CollectiveKind::reduce_scatter ||
                                   kind == CollectiveKind::all_gather;
  switch (algorithm) {
    case CollectiveAlgorithm::ring:
      return true;
    case CollectiveAlgorithm::direct:
      return kind == CollectiveKind::all_to_all;
    case CollectiveAlgorithm::double_binary_tree:
      return kind == CollectiveKind::all_reduce;
    case CollectiveAlgorithm::hierarchical: {
      if (kind != CollectiveKind::all_reduce)
        return false;
      const auto nodes = members_by_node(devices, topology);
      return nodes.size() > 1 && uniform_members_per_node(nodes).has_value();
    }
    case CollectiveAlgorithm::torus:
      return reduction_or_gather && torus_lines(devices, topology).has_value();
    case CollectiveAlgorithm::halving_doubling:
      return reduction_or_gather;
    case CollectiveAlgorithm::in_network:
      return kind == CollectiveKind::all_reduce && in_network_fits(devices, topology);
  }
  return false;
}

std::vector<Phase> expand_collective(CollectiveKind kind, CollectiveAlgorithm algorithm,
                                     const std::vector<int>& devices, double bytes,
                                     const Topology& topology) {
  if (devices.empty())
    throw std::invalid_argument("a collective needs at least one member");
  for (int d : devices) {
    if (d < 0 || d >= topology.device_count()) {
      throw std::invalid_argument("collective member " + std::to_string(d) +
                                  " is not a device of the network");
    }
  }
  if (devices.size() == 1)
    return {};
  if (!algorithm_applies(kind, algorithm, devices, topology)) {
    throw std::invalid_argument("the " + std::string(to_string(algorithm)) +
                                " algorithm does not implement " + std::string(to_string(kind)) +
                                " for this group of " + std::to_string(devices.size()) +
                                " devices");
  }
  switch (algorithm) {
    case CollectiveAlgorithm::ring:
      return ring(kind, devices, bytes, topology);
    case CollectiveAlgorithm::direct:
      return direct_all_to_all(devices, bytes, topology);
    case CollectiveAlgorithm::double_binary_tree:
      return double_binary_tree(devices, bytes, topology);
    case CollectiveAlgorithm::hierarchical:
      return hierarchical_all_reduce(devices, bytes, topology);
    case CollectiveAlgorithm::torus:
      return torus_collective(kind, devices, bytes, topology);
    case CollectiveAlgorithm::halving_doubling:
      return halving_doubling(kind, devices, bytes);
    case CollectiveAlgorithm::in_network:
      return in_network_all_reduce(devices, bytes);
  }
  return {};
}

}  // namespace scaleplan
