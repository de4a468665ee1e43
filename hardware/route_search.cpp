// Route search by classes of sources that share their hop distances.
//
// A route walks back from its destination to its source along links one hop closer to the
// source at each step, choosing among them by the source's digits (topology.hpp). It needs the
// hops from its source to the vertices it passes and to those that lead into them; nothing else.
// Keeping those hops per source device cost 2 bytes per vertex per source (11 GB for every device
// of a 32,768-GPU fat-tree). The generated networks do not need it:
//
// - Nodes hung from switches (fat-tree, rail-optimized, dragonfly): every node is built alike,
//   and its only links out are one uplink per NIC, to a switch. A path from a source leaves its
//   node through some NIC x (first exit), crosses the switches, possibly through other nodes
//   (NIC to NIC inside a node, where NICs share a PCIe tree: a weighted edge between their
//   switches), and enters the destination's node through some NIC z (last entry). So the hops
//   to a switch are the shortest over the switches' own graph from the switches the source
//   leaves through, each at the hops it takes to reach it; and the hops to a vertex of a node
//   are the least, over that node's NICs z, of the hops to z's switch, one, and the hops from z
//   to the vertex inside the node (from node 0's tables; into the source's own node no NIC leads
//   to a device). Sources that leave through the same switches at the same hops share one table
//   over the switches: a route class. Where no node carries transit and a source leaves through
//   one switch, switches with the same neighbours (the leaves of a pod, or all leaves of a
//   two-tier tree) are twins: hops from one are hops from the other but at the two themselves,
//   so they share the table of the lowest-numbered (the representative).
// - A torus: a product of rings and lines, where hops add up along the axes: no table.
// - Anything else (custom networks, nodes of different shapes, or a generated network that breaks
//   the assumptions above, which prepare_route_search checks): a breadth-first search over every
//   vertex per source device.
//
// The routes are the ones the per-source search found, link for link: the walk is the same and
// reads the same hops (tests/hardware/route_search_test.cpp compares them with a plain search).
#include <algorithm>
#include <map>
#include <numeric>
#include <queue>
#include <string>

#include "hardware/topology.hpp"
#include "hardware/topology_graph.hpp"

namespace scaleplan {

using namespace topology_detail;

namespace {

// Hops as int, with room to add: unreachable is `far`.
constexpr int far = 1 << 28;
int as_int(std::uint16_t hops) {
  return hops == unreachable ? far : hops;
}

}  // namespace

// Hops from one source to any vertex.
struct Topology::SourceHops {
  const Topology* topology = nullptr;
  const RouteSymmetry* symmetry = nullptr;
  int src = 0;
  // per_source: the source's table over every vertex.
  const std::vector<std::uint16_t>* all = nullptr;
  // nodes: the source's node and local index, its class's table over the switches, and where it
  // reads a twin's table, the switch it leaves through, its hops there and its representative.
  int node = 0;
  int local = 0;
  const SwitchHops* table = nullptr;
  bool twin_table = false;
  std::uint32_t exit_switch = 0;
  int exit_hops = 0;
  // torus: the source's coordinates.
  std::vector<int> coordinates;

  int to_switch(std::uint32_t sw) const {
    if (twin_table) {
      if (sw == exit_switch)
        return exit_hops;
      // A twin is two hops from its representative, through any neighbour they share.
      if (sw == symmetry->twin[exit_switch])
        return exit_hops + 2;
      const int h = as_int((*table)[sw]);
      return h == far ? far : exit_hops + h;
    }
    return as_int((*table)[sw]);
  }

  int to(VertexId v) const {
    const RouteSymmetry& s = *symmetry;
    switch (s.kind) {
      case RouteSymmetry::Kind::per_source:
        return as_int((*all)[v]);
      case RouteSymmetry::Kind::torus: {
        // Inside the source's slice only: the host NICs and the DCN switch, and other slices,
        // are reached by the routes between slices (route()).
        const Topology& t = *topology;
        if (v >= static_cast<VertexId>(t.device_count_) ||
            t.torus_slice_of(static_cast<int>(v)) != t.torus_slice_of(src))
          return far;
        int device = static_cast<int>(v), hops = 0;
        for (int axis : s.torus_fill_order) {
          const auto a = static_cast<std::size_t>(axis);
          const int extent = s.torus_extent[a];
          const int along = std::abs(device % extent - coordinates[a]);
          hops += s.torus_wraps[a] ? std::min(along, extent - along) : along;
          device /= extent;
        }
        return hops;
      }
      case RouteSymmetry::Kind::nodes:
        break;
    }
    if (v >= s.first_switch)
      return to_switch(v - s.first_switch);
    const Topology& t = *topology;
    int n = 0, k = 0;
    if (v < static_cast<VertexId>(t.device_count_)) {
      n = static_cast<int>(v) / s.per_node;
      k = static_cast<int>(v) % s.per_node;
    } else {
      const auto offset = v - static_cast<VertexId>(t.device_count_);
      n = static_cast<int>(offset / t.node_vertex_stride_);
      k = s.per_node + static_cast<int>(offset % t.node_vertex_stride_);
    }
    const bool own = n == node;
    int best = own ? as_int(s.from_device[static_cast<std::size_t>(local)][k]) : far;
    const auto& inside = own ? s.from_nic_own_node : s.from_nic_other_node;
    for (std::size_t a = 0; a < s.nic_locals.size(); ++a) {
      const int in = as_int(inside[a][k]);
      if (in == far)
        continue;
      const int up = to_switch(t.nic_switch(n, s.nic_locals[a]));
      if (up != far)
        best = std::min(best, up + 1 + in);
    }
    return best;
  }
};

std::uint32_t Topology::nic_switch(int node, int nic_local) const {
  const RouteSymmetry& s = graph_->symmetry;
  const VertexId nic = static_cast<VertexId>(device_count_) +
                       static_cast<VertexId>(node) * node_vertex_stride_ +
                       static_cast<VertexId>(nic_local - s.per_node);
  return links_[nic_uplink_[nic]].to - s.first_switch;
}

namespace {

// Breadth-first search from `source` over the vertices `inside` keeps, along the edges `may`
// allows: hops per vertex, unreachable elsewhere.
template <class Inside, class May>
std::vector<std::uint16_t> hops_from(const BoostGraph& graph, std::size_t vertex_count,
                                     VertexId source, Inside inside, May may) {
  std::vector<std::uint16_t> hops(vertex_count, unreachable);
  std::vector<VertexId> queue{source};
  hops[source] = 0;
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const VertexId u = queue[head];
    for (auto [e, end] = boost::out_edges(u, graph); e != end; ++e) {
      const auto v = static_cast<VertexId>(boost::target(*e, graph));
      if (hops[v] == unreachable && inside(v) && may(u, v)) {
        hops[v] = static_cast<std::uint16_t>(hops[u] + 1);
        queue.push_back(v);
      }
    }
  }
  return hops;
}

}  // namespace

void Topology::prepare_route_search() {
  RouteSymmetry& s = graph_->symmetry;
  const auto vertex_count = vertices_.size();
  s = RouteSymmetry{};
  if (!torus_dims_.empty()) {
    // Wrap-around links, as build_torus makes them: device 0 to the last of an axis of three or
    // more.
    s.kind = RouteSymmetry::Kind::torus;
    s.torus_fill_order = torus_rank_axes_;
    for (std::size_t axis = 0; axis < torus_dims_.size(); ++axis) {
      const int extent = torus_dims_[axis];
      bool wraps = false;
      if (extent > 2) {
        std::vector<int> coordinates(torus_dims_.size(), 0);
        coordinates[axis] = extent - 1;
        const auto last = device_vertex(torus_device(coordinates));
        for (auto [e, end] = boost::out_edges(0, graph_->graph); e != end; ++e)
          wraps = wraps || boost::target(*e, graph_->graph) == last;
      }
      s.torus_extent.push_back(extent);
      s.torus_wraps.push_back(wraps);
    }
    return;
  }
  const auto fall_back = [&] {
    s = RouteSymmetry{};
    graph_->hops_from =
        OnceSlots<std::vector<std::uint16_t>>(static_cast<std::size_t>(device_count_));
    const auto& hops = graph_->hops_from.publish(
        0, std::make_unique<std::vector<std::uint16_t>>(hops_from(
               graph_->graph, vertex_count, 0, [](VertexId) { return true; },
               [&](VertexId u, VertexId v) {
                 return may_take(vertices_, u, v, 0, devices_forward_);
               })));
    for (int d = 0; d < device_count_; ++d) {
      if (hops[device_vertex(d)] == unreachable) {
        throw TopologyError(vertex_name(device_vertex(d)) + " cannot reach " +
                            vertex_name(device_vertex(0)) + ": the network is disconnected");
      }
    }
  };
  // Nodes hung from switches: checked, not assumed. Devices, then each node's other vertices
  // node after node, then the switches; a link leaves a node only from a NIC to a switch, one per
  // NIC. Nodes of different shapes (node groups) are searched per source.
  if (devices_forward_ || !shapes_alike_ || node_count_ < 1 || device_count_ % node_count_ != 0)
    return fall_back();
  const int per_node = device_count_ / node_count_;
  const VertexId first_switch = static_cast<VertexId>(device_count_) +
                                static_cast<VertexId>(node_count_) * node_vertex_stride_;
  if (first_switch > vertex_count)
    return fall_back();
  const auto node_of_vertex = [&](VertexId v) {
    return v < static_cast<VertexId>(device_count_)
               ? static_cast<int>(v) / per_node
               : static_cast<int>((v - static_cast<VertexId>(device_count_)) / node_vertex_stride_);
  };
  for (VertexId v = 0; v < vertex_count; ++v) {
    const Vertex& x = vertices_[v];
    const bool is_switch = x.kind == VertexKind::network_switch;
    if (is_switch != (v >= first_switch) || (!is_switch && x.node != node_of_vertex(v)) ||
        (v < static_cast<VertexId>(device_count_)) != (x.kind == VertexKind::device))
      return fall_back();
  }
  std::vector<int> uplinks(vertex_count, 0);
  for (const Link& l : links_) {
    const bool from_switch = l.from >= first_switch, to_switch = l.to >= first_switch;
    if (from_switch && to_switch)
      continue;
    if (!from_switch && !to_switch) {
      if (vertices_[l.from].node != vertices_[l.to].node)
        return fall_back();
      continue;
    }
    const VertexId inner = from_switch ? l.to : l.from;
    if (vertices_[inner].kind != VertexKind::nic || nic_uplink_.size() != vertex_count ||
        ++uplinks[inner] > 2)
      return fall_back();
  }
  s.kind = RouteSymmetry::Kind::nodes;
  s.per_node = per_node;
  s.locals = per_node + static_cast<int>(node_vertex_stride_);
  s.first_switch = first_switch;
  // Node 0, in node-local indices (its devices, then its other vertices).
  const auto global_of = [&](int k) {
    return k < per_node
               ? static_cast<VertexId>(k)
               : static_cast<VertexId>(device_count_) + static_cast<VertexId>(k - per_node);
  };
  const auto in_node_0 = [&](VertexId v) { return v < first_switch && node_of_vertex(v) == 0; };
  const auto localize = [&](const std::vector<std::uint16_t>& hops) {
    std::vector<std::uint16_t> out(static_cast<std::size_t>(s.locals));
    for (int k = 0; k < s.locals; ++k)
      out[static_cast<std::size_t>(k)] = hops[global_of(k)];
    return out;
  };
  for (int k = per_node; k < s.locals; ++k) {
    if (vertices_[global_of(k)].kind == VertexKind::nic) {
      s.nic_locals.push_back(k);
      if (node_count_ > 1 && uplinks[global_of(k)] != 2)
        return fall_back();
    }
  }
  for (int i = 0; i < per_node; ++i) {
    const auto source = static_cast<VertexId>(i);
    s.from_device.push_back(localize(hops_from(
        graph_->graph, vertex_count, source, in_node_0,
        [&](VertexId u, VertexId v) { return may_take(vertices_, u, v, source, false); })));
  }
  for (int k : s.nic_locals) {
    const VertexId nic = global_of(k);
    s.from_nic_own_node.push_back(localize(
        hops_from(graph_->graph, vertex_count, nic, in_node_0,
                  [&](VertexId u, VertexId v) { return may_take(vertices_, u, v, nic, false); })));
    s.from_nic_other_node.push_back(
        localize(hops_from(graph_->graph, vertex_count, nic, in_node_0, [&](VertexId u, VertexId) {
          return vertices_[u].kind != VertexKind::device;
        })));
  }
  const auto nics = s.nic_locals.size();
  for (std::size_t a = 0; a < nics; ++a) {
    for (std::size_t b = 0; b < nics; ++b) {
      const auto hops = s.from_nic_other_node[a][static_cast<std::size_t>(s.nic_locals[b])];
      if (a != b && hops != unreachable)
        s.transits.push_back({static_cast<int>(a), static_cast<int>(b), hops});
    }
  }
  // The switches' own graph, and their twins.
  const auto switches = static_cast<std::uint32_t>(vertex_count - first_switch);
  s.switch_edge_begin.assign(switches + 1, 0);
  for (std::uint32_t sw = 0; sw < switches; ++sw) {
    s.switch_edge_begin[sw] = static_cast<std::uint32_t>(s.switch_edges.size());
    for (auto [e, end] = boost::out_edges(first_switch + sw, graph_->graph); e != end; ++e) {
      const auto v = static_cast<VertexId>(boost::target(*e, graph_->graph));
      if (v >= first_switch)
        s.switch_edges.push_back(v - first_switch);
    }
  }
  s.switch_edge_begin[switches] = static_cast<std::uint32_t>(s.switch_edges.size());
  s.twin.resize(switches);
  std::map<std::vector<std::uint32_t>, std::uint32_t> by_neighbours;
  for (std::uint32_t sw = 0; sw < switches; ++sw) {
    std::vector<std::uint32_t> neighbours(s.switch_edges.begin() + s.switch_edge_begin[sw],
                                          s.switch_edges.begin() + s.switch_edge_begin[sw + 1]);
    std::sort(neighbours.begin(), neighbours.end());
    neighbours.erase(std::unique(neighbours.begin(), neighbours.end()), neighbours.end());
    s.twin[sw] =
        neighbours.empty() ? sw : by_neighbours.emplace(std::move(neighbours), sw).first->second;
  }
  // Each device's class: the switches it leaves its node through, at their hops.
  std::map<std::vector<std::pair<std::uint32_t, std::uint16_t>>, std::uint32_t> classes;
  s.class_of_device.resize(static_cast<std::size_t>(device_count_));
  std::vector<std::pair<std::uint32_t, std::uint16_t>> exits;
  for (int n = 0; n < node_count_; ++n) {
    for (int i = 0; i < per_node; ++i) {
      exits.clear();
      for (std::size_t a = 0; a < nics; ++a) {
        const auto hops =
            s.from_device[static_cast<std::size_t>(i)][static_cast<std::size_t>(s.nic_locals[a])];
        if (hops != unreachable && node_count_ > 1)
          exits.emplace_back(nic_switch(n, s.nic_locals[a]), static_cast<std::uint16_t>(hops + 1));
      }
      std::sort(exits.begin(), exits.end());
      // The fewest hops to each switch.
      exits.erase(std::unique(exits.begin(), exits.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  exits.end());
      std::uint32_t c = 0;
      if (s.transits.empty() && exits.size() == 1) {
        c = s.twin[exits[0].first];
      } else {
        auto [it, added] =
            classes.emplace(exits, static_cast<std::uint32_t>(switches + s.exit_sets.size()));
        if (added)
          s.exit_sets.push_back(exits);
        c = it->second;
      }
      s.class_of_device[static_cast<std::size_t>(n * per_node + i)] = c;
    }
  }
  s.tables = OnceSlots<SwitchHops>(switches + s.exit_sets.size());
  const SourceHops from_0 = source_hops(0);
  for (int d = 0; d < device_count_; ++d) {
    if (from_0.to(device_vertex(d)) == far) {
      throw TopologyError(vertex_name(device_vertex(d)) + " cannot reach " +
                          vertex_name(device_vertex(0)) + ": the network is disconnected");
    }
  }
}

Topology::SourceHops Topology::source_hops(int src_device) const {
  const RouteSymmetry& s = graph_->symmetry;
  SourceHops hops;
  hops.topology = this;
  hops.symmetry = &s;
  hops.src = src_device;
  switch (s.kind) {
    case RouteSymmetry::Kind::per_source: {
      const auto slot = static_cast<std::size_t>(src_device);
      hops.all = graph_->hops_from.find(slot);
      if (!hops.all) {
        const VertexId source = device_vertex(src_device);
        hops.all = &graph_->hops_from.publish(
            slot, std::make_unique<std::vector<std::uint16_t>>(hops_from(
                      graph_->graph, vertices_.size(), source, [](VertexId) { return true; },
                      [&](VertexId u, VertexId v) {
                        return may_take(vertices_, u, v, source, devices_forward_);
                      })));
      }
      return hops;
    }
    case RouteSymmetry::Kind::torus:
      hops.coordinates = torus_coordinates(src_device);
      return hops;
    case RouteSymmetry::Kind::nodes:
      break;
  }
  hops.node = src_device / s.per_node;
  hops.local = src_device % s.per_node;
  const std::uint32_t c = s.class_of_device[static_cast<std::size_t>(src_device)];
  const auto switches = static_cast<std::uint32_t>(s.twin.size());
  if (c < switches) {
    // A twin's table: the one switch the source leaves through (by one NIC or several), and
    // its fewest hops there.
    hops.twin_table = true;
    hops.exit_hops = far;
    for (std::size_t a = 0; a < s.nic_locals.size(); ++a) {
      const int h = as_int(s.from_device[static_cast<std::size_t>(hops.local)]
                                        [static_cast<std::size_t>(s.nic_locals[a])]);
      if (h + 1 < hops.exit_hops) {
        hops.exit_switch = nic_switch(hops.node, s.nic_locals[a]);
        hops.exit_hops = h + 1;
      }
    }
  }
  hops.table = s.tables.find(c);
  if (hops.table)
    return hops;
  // The class's table: hops over the switches' graph from where its sources leave their nodes,
  // and through nodes where NICs lead to NICs, shortest first (weights are small integers: a
  // bucket per distance).
  auto table = std::make_unique<SwitchHops>(switches, unreachable);
  std::vector<std::vector<std::uint32_t>> buckets;
  const auto reach = [&](std::uint32_t sw, int h) {
    if (h >= static_cast<int>(unreachable) || h >= static_cast<int>((*table)[sw]))
      return;
    (*table)[sw] = static_cast<std::uint16_t>(h);
    if (buckets.size() <= static_cast<std::size_t>(h))
      buckets.resize(static_cast<std::size_t>(h) + 1);
    buckets[static_cast<std::size_t>(h)].push_back(sw);
  };
  if (c < switches) {
    reach(c, 0);
  } else {
    for (const auto& [sw, h] : s.exit_sets[c - switches])
      reach(sw, h);
  }
  for (std::size_t h = 0; h < buckets.size(); ++h) {
    for (std::size_t i = 0; i < buckets[h].size(); ++i) {
      const std::uint32_t sw = buckets[h][i];
      if ((*table)[sw] != h)
        continue;  // reached sooner since
      const int next = static_cast<int>(h) + 1;
      for (std::uint32_t e = s.switch_edge_begin[sw]; e < s.switch_edge_begin[sw + 1]; ++e)
        reach(s.switch_edges[e], next);
      if (s.transits.empty())
        continue;
      for (auto [e, end] = boost::out_edges(s.first_switch + sw, graph_->graph); e != end; ++e) {
        const auto nic = static_cast<VertexId>(boost::target(*e, graph_->graph));
        if (nic >= s.first_switch)
          continue;
        const int node =
            static_cast<int>((nic - static_cast<VertexId>(device_count_)) / node_vertex_stride_);
        const int local =
            s.per_node +
            static_cast<int>((nic - static_cast<VertexId>(device_count_)) % node_vertex_stride_);
        for (const RouteSymmetry::Transit& tr : s.transits) {
          if (s.nic_locals[static_cast<std::size_t>(tr.from_nic)] == local)
            reach(nic_switch(node, s.nic_locals[static_cast<std::size_t>(tr.to_nic)]),
                  static_cast<int>(h) + 2 + tr.hops);
        }
      }
    }
  }
  hops.table = &s.tables.publish(c, std::move(table));
  return hops;
}

const std::vector<LinkId>& Topology::route(int src_device, int dst_device) const {
  const auto destination = static_cast<std::size_t>(dst_device);
  const std::size_t group_index = destination / (route_chunk * route_chunk);
  const std::size_t chunk_index = (destination / route_chunk) % route_chunk;
  const std::size_t slot = destination % route_chunk;
  const auto source = static_cast<std::size_t>(src_device);
  const RoutesFromSource* from = graph_->routes_from.find(source);
  if (!from)
    from = &graph_->routes_from.publish(source, std::make_unique<RoutesFromSource>(device_count_));
  const RouteChunkGroup* group = from->groups.find(group_index);
  if (!group)
    group = &from->groups.publish(group_index, std::make_unique<RouteChunkGroup>());
  const RouteChunk* chunk = group->slots[chunk_index].load(std::memory_order_acquire);
  if (!chunk)
    chunk = &publish_once(group->slots[chunk_index], std::make_unique<RouteChunk>());
  if (const std::vector<LinkId>* cached = chunk->slots[slot].load(std::memory_order_acquire))
    return *cached;

  const VertexId src = device_vertex(src_device);
  const VertexId dst = device_vertex(dst_device);
  std::vector<LinkId> path;
  if (torus_slice_of(src_device) != torus_slice_of(dst_device)) {
    const auto s = static_cast<std::size_t>(src_device), d = static_cast<std::size_t>(dst_device);
    path = {dcn_device_up_[s], dcn_nic_up_[static_cast<std::size_t>(node_of(src_device))],
            dcn_nic_down_[static_cast<std::size_t>(node_of(dst_device))], dcn_device_down_[d]};
    return publish_once(chunk->slots[slot], std::make_unique<std::vector<LinkId>>(std::move(path)));
  }
  const SourceHops hops = source_hops(src_device);
  VertexId v = dst;
  std::vector<LinkId> candidates;
  // The source's key's digits pick the branches, least significant first (see the header).
  std::uint64_t spread = route_key_[static_cast<std::size_t>(src_device)];
  while (v != src) {
    // Walk back along any in-edge one hop closer to the source.
    candidates.clear();
    const int to_v = hops.to(v);
    for (auto [e, end] = boost::in_edges(v, graph_->graph); e != end; ++e) {
      const auto u = static_cast<VertexId>(boost::source(*e, graph_->graph));
      if (may_take(vertices_, u, v, src, devices_forward_) && hops.to(u) + 1 == to_v)
        candidates.push_back(graph_->graph[*e].link);
    }
    const LinkId chosen = candidates[spread % candidates.size()];
    spread /= candidates.size();
    path.push_back(chosen);
    v = links_[chosen].from;
  }
  std::reverse(path.begin(), path.end());
  return publish_once(chunk->slots[slot], std::make_unique<std::vector<LinkId>>(std::move(path)));
}

std::size_t Topology::route_class_count() const {
  const RouteSymmetry& s = graph_->symmetry;
  switch (s.kind) {
    case RouteSymmetry::Kind::per_source:
      return static_cast<std::size_t>(device_count_);
    case RouteSymmetry::Kind::torus:
      return 1;
    case RouteSymmetry::Kind::nodes:
      break;
  }
  return s.tables.size();
}

std::size_t Topology::route_class(int src_device) const {
  const RouteSymmetry& s = graph_->symmetry;
  switch (s.kind) {
    case RouteSymmetry::Kind::per_source:
      return static_cast<std::size_t>(src_device);
    case RouteSymmetry::Kind::torus:
      return 0;
    case RouteSymmetry::Kind::nodes:
      break;
  }
  return s.class_of_device[static_cast<std::size_t>(src_device)];
}

double Topology::route_class_search_work() const {
  const RouteSymmetry& s = graph_->symmetry;
  switch (s.kind) {
    case RouteSymmetry::Kind::per_source:
      return static_cast<double>(vertices_.size() + links_.size());
    case RouteSymmetry::Kind::torus:
      return 0;
    case RouteSymmetry::Kind::nodes:
      break;
  }
  // The switches and their links; where nodes carry transit, the NICs under each switch too.
  double work = static_cast<double>(s.twin.size() + s.switch_edges.size());
  if (!s.transits.empty())
    work += static_cast<double>(node_count_) *
            static_cast<double>(s.nic_locals.size() + s.transits.size());
  return work;
}

std::size_t Topology::route_class_table_bytes() const {
  const RouteSymmetry& s = graph_->symmetry;
  switch (s.kind) {
    case RouteSymmetry::Kind::per_source:
      return vertices_.size() * sizeof(std::uint16_t);
    case RouteSymmetry::Kind::torus:
      return 0;
    case RouteSymmetry::Kind::nodes:
      break;
  }
  return s.twin.size() * sizeof(std::uint16_t);
}

Topology::RouteTableUse Topology::route_table_use() const {
  const RouteSymmetry& s = graph_->symmetry;
  RouteTableUse use;
  const auto& slots = s.kind == RouteSymmetry::Kind::per_source ? graph_->hops_from : s.tables;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (const auto* table = slots.find(i)) {
      ++use.tables;
      use.bytes += table->size() * sizeof(std::uint16_t);
    }
  }
  return use;
}

}  // namespace scaleplan
