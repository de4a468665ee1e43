// Collective algorithms that follow the hardware: NCCL's double binary tree over nodes, the
// hierarchical all-reduce (inside nodes, then across), and per-axis rings on a torus.
#include <algorithm>
#include <cmath>
#include <map>

#include "sim/collective/collective_detail.hpp"

namespace scaleplan::collective_detail {

namespace {

int btree_parent(int n, int rank) {
  if (rank == 0)
    return -1;
  int bit = 1;
  while (bit < n && (bit & rank) == 0)
    bit <<= 1;
  const int up = (rank ^ bit) | (bit << 1);
  return up < n ? up : (rank ^ bit);
}

int tree_depth(const std::vector<int>& parent) {
  int deepest = 0;
  for (std::size_t r = 0; r < parent.size(); ++r) {
    int depth = 0;
    for (int v = static_cast<int>(r); parent[v] >= 0; v = parent[v])
      ++depth;
    deepest = std::max(deepest, depth);
  }
  return deepest;
}

}  // namespace

std::vector<int> btree_parents(int n, int tree) {
  std::vector<int> parent(n);
  for (int r = 0; r < n; ++r) {
    if (tree == 0) {
      parent[r] = btree_parent(n, r);
    } else if (n % 2 == 1) {
      const int up = btree_parent(n, (r - 1 + n) % n);
      parent[r] = up < 0 ? -1 : (up + 1) % n;
    } else {
      const int up = btree_parent(n, n - 1 - r);
      parent[r] = up < 0 ? -1 : n - 1 - up;
    }
  }
  return parent;
}

std::vector<Phase> double_binary_tree(const std::vector<int>& devices, double bytes,
                                      const Topology& topology) {
  // Trees span nodes, with a chain inside each node, as NCCL builds them. With m members per
  // node there are m tree channels, each S/m of the data; channel c enters a node at its c-th
  // member, so each member's NIC carries one channel. A group without a uniform node layout (or
  // inside one node) is one tree over its members.
  std::vector<std::vector<int>> units = members_by_node(devices, topology);
  const auto uniform = uniform_members_per_node(units);
  if (units.size() == 1 || !uniform) {
    units.clear();
    for (int d : devices)
      units.push_back({d});
  }
  const int n = static_cast<int>(units.size());
  const int m = static_cast<int>(units.front().size());
  const double per_tree_channel = bytes / 2.0 / m;
  Phase phase;
  int depth = 0;
  for (int tree = 0; tree < 2; ++tree) {
    const std::vector<int> parent = btree_parents(n, tree);
    depth = std::max(depth, tree_depth(parent));
    for (int c = 0; c < m; ++c) {
      for (int u = 0; u < n; ++u) {
        if (parent[u] < 0)
          continue;
        // Reduce towards the root, then broadcast back down.
        phase.transfers.push_back({units[u][c], units[parent[u]][c], per_tree_channel});
        phase.transfers.push_back({units[parent[u]][c], units[u][c], per_tree_channel});
      }
    }
  }
  if (m > 1) {
    // Channel c's chain runs from member c+m−1 down to member c (the one on the tree), so the
    // edge between members j+1 and j serves every channel but c = j+1: m−1 channels of both
    // trees, up and down. One flow per edge and direction carries them all.
    const double chain_bytes = 2.0 * (m - 1) * per_tree_channel;
    for (const auto& members : units) {
      for (int j = 0; j < m; ++j) {
        const int next = members[(j + 1) % m];
        phase.transfers.push_back({next, members[j], chain_bytes});
        phase.transfers.push_back({members[j], next, chain_bytes});
      }
    }
  }
  // A chunk climbs the chain and the tree, then comes back down.
  phase.pipeline_stages = 2 * (depth + m - 1);
  phase.steps = phase.pipeline_stages;
  phase.chunks = std::max(1, static_cast<int>(std::ceil(per_tree_channel / pipeline_chunk_bytes)));
  return {phase};
}

std::vector<Phase> hierarchical_all_reduce(const std::vector<int>& devices, double bytes,
                                           const Topology& topology) {
  const auto nodes = members_by_node(devices, topology);
  const std::size_t m = nodes.front().size();
  const double md = static_cast<double>(m);
  const double nd = static_cast<double>(nodes.size());
  std::vector<Phase> phases;
  auto intra = [&]() {
    // Every node's ring at once: reduce-scatter or all-gather of S, (m−1)/m·S per member.
    Phase phase;
    phase.steps = static_cast<int>(m) - 1;
    for (const auto& members : nodes) {
      const Phase ring = ring_phase(members, (md - 1) / md * bytes, 0);
      phase.transfers.insert(phase.transfers.end(), ring.transfers.begin(), ring.transfers.end());
    }
    return phase;
  };
  if (m > 1)
    phases.push_back(intra());
  // One ring per local index across nodes (a rail each), all-reducing that member's S/m shard.
  Phase across;
  across.steps = 2 * (static_cast<int>(nodes.size()) - 1);
  for (std::size_t i = 0; i < m; ++i) {
    std::vector<int> rail;
    for (const auto& members : nodes)
      rail.push_back(members[i]);
    const Phase ring = ring_phase(rail, 2.0 * (nd - 1) / nd * bytes / md, 0);
    across.transfers.insert(across.transfers.end(), ring.transfers.begin(), ring.transfers.end());
  }
  phases.push_back(std::move(across));
  if (m > 1)
    phases.push_back(intra());
  return phases;
}

std::optional<std::vector<std::vector<std::vector<int>>>> torus_lines(
    const std::vector<int>& devices, const Topology& topology) {
  const std::vector<int>& dims = topology.torus_dims();
  if (dims.empty())
    return std::nullopt;
  // Several slices: the slice is one more axis, last, whose rings cross the DCN; reducing axis
  // by axis, the DCN rings work on the smallest shard (multi-slice data parallelism).
  const bool sliced = topology.torus_slices() > 1;
  const std::size_t axes = dims.size() + (sliced ? 1 : 0);
  const auto coordinates_of = [&](int d) {
    std::vector<int> c = topology.torus_coordinates(d);
    if (sliced)
      c.push_back(topology.torus_slice_of(d));
    return c;
  };
  // The members must be every combination of their coordinates on each axis: a box.
  std::vector<std::vector<int>> used(axes);
  std::map<std::vector<int>, int> at;
  for (int d : devices) {
    const std::vector<int> c = coordinates_of(d);
    for (std::size_t a = 0; a < axes; ++a)
      used[a].push_back(c[a]);
    if (!at.emplace(c, d).second)
      return std::nullopt;  // a device twice
  }
  std::size_t box = 1;
  for (auto& u : used) {
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    box *= u.size();
  }
  if (box != devices.size())
    return std::nullopt;
  std::vector<std::vector<std::vector<int>>> lines(axes);
  for (std::size_t a = 0; a < axes; ++a) {
    if (used[a].size() < 2)
      continue;
    // One line per combination of the other coordinates, in map (coordinate) order.
    std::map<std::vector<int>, std::vector<int>> by_rest;
    for (const auto& [c, d] : at) {
      std::vector<int> rest = c;
      rest[a] = -1;
      by_rest[rest].push_back(d);
    }
    for (auto& [rest, members] : by_rest) {
      std::sort(members.begin(), members.end(),
                [&](int x, int y) { return coordinates_of(x)[a] < coordinates_of(y)[a]; });
      lines[a].push_back(std::move(members));
    }
  }
  return lines;
}

std::vector<Phase> torus_collective(CollectiveKind kind, const std::vector<int>& devices,
                                    double bytes, const Topology& topology) {
  const auto lines = *torus_lines(devices, topology);
  // A phase of bidirectional rings along one axis: each member sends half of its (k−1)/k·S_axis
  // each way, so both directions of every link carry one flow.
  auto axis_phase = [&](std::size_t axis, double axis_bytes) {
    Phase phase;
    const std::size_t k = lines[axis].front().size();
    const double kd = static_cast<double>(k);
    phase.steps = static_cast<int>(k) - 1;
    const double each_way = (kd - 1) / kd * axis_bytes / 2;
    for (const auto& line : lines[axis]) {
      for (std::size_t i = 0; i < k; ++i) {
        phase.transfers.push_back({line[i], line[(i + 1) % k], each_way});
        phase.transfers.push_back({line[i], line[(i + k - 1) % k], each_way});
      }
    }
    return phase;
  };
  std::vector<std::size_t> axes;
  for (std::size_t a = 0; a < lines.size(); ++a) {
    if (!lines[a].empty())
      axes.push_back(a);
  }
  std::vector<Phase> phases;
  double data = bytes;  // S_axis: what the next axis' rings work on
  const bool reduce = kind != CollectiveKind::all_gather;
  const bool gather = kind != CollectiveKind::reduce_scatter;
  // Reduce-scatter axis by axis, each leaving 1/k of the data; the all-gather retraces them.
  std::vector<double> axis_data;
  for (std::size_t a : axes) {
    axis_data.push_back(data);
    data /= static_cast<double>(lines[a].front().size());
  }
  if (reduce) {
    for (std::size_t i = 0; i < axes.size(); ++i)
      phases.push_back(axis_phase(axes[i], axis_data[i]));
  }
  if (gather) {
    for (std::size_t i = axes.size(); i-- > 0;)
      phases.push_back(axis_phase(axes[i], axis_data[i]));
  }
  return phases;
}

}  // namespace scaleplan::collective_detail
