// Inside the Topology (topology.cpp, route_search.cpp), not for its users: the Boost graph, the
// slots that routing fills once from any thread, and what routing knows of the network's
// symmetry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "hardware/topology.hpp"

namespace scaleplan::topology_detail {

struct EdgeProperties {
  LinkId link = 0;
};
using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                         boost::no_property, EdgeProperties>;
inline constexpr std::uint16_t unreachable = std::numeric_limits<std::uint16_t>::max();

// Whether a route from `source` may take the edge from -> to: none out of a device other than
// the source, unless devices forward traffic; and none from a NIC back into the source's own
// node, so that two devices sharing a NIC never talk through it (NCCL takes NVLink or PCIe
// inside a node; through the NIC the path would tie with the NVSwitch one in hops).
inline bool may_take(const std::vector<Vertex>& vertices, VertexId from, VertexId to,
                     VertexId source, bool devices_forward) {
  if (devices_forward)
    return true;
  const Vertex& f = vertices[from];
  if (f.kind == VertexKind::device && from != source)
    return false;
  return !(f.kind == VertexKind::nic && vertices[to].kind == VertexKind::device &&
           vertices[to].node == vertices[source].node);
}

// Slots each filled at most once and then only read, safely from any number of threads (the
// header's contract): a reader takes a slot with one acquire load; a writer publishes a value with
// a compare-exchange, and when two race the first wins and the other's value, computed from the
// same graph and so equal, is dropped. Values never move once published.
template <class T>
const T& publish_once(std::atomic<T*>& slot, std::unique_ptr<T> value) {
  T* expected = nullptr;
  if (slot.compare_exchange_strong(expected, value.get(), std::memory_order_acq_rel,
                                   std::memory_order_acquire))
    return *value.release();
  return *expected;
}

// A number of such slots fixed when made (made, moved and assigned only while the Topology is
// built; then only read and filled).
template <class T>
class OnceSlots {
 public:
  OnceSlots() = default;
  explicit OnceSlots(std::size_t size)
      : slots_(std::make_unique<std::atomic<T*>[]>(size)), size_(size) {}
  OnceSlots(OnceSlots&& other) noexcept
      : slots_(std::move(other.slots_)), size_(std::exchange(other.size_, 0)) {}
  OnceSlots& operator=(OnceSlots&& other) noexcept {
    OnceSlots(std::move(other)).swap(*this);
    return *this;
  }
  ~OnceSlots() {
    for (std::size_t i = 0; i < size_; ++i)
      delete slots_[i].load(std::memory_order_relaxed);
  }
  std::size_t size() const { return size_; }
  // The value in slot i, or null while none is published.
  const T* find(std::size_t i) const { return slots_[i].load(std::memory_order_acquire); }
  // Publishes `value` in slot i unless a value is there already; returns the one in the slot.
  const T& publish(std::size_t i, std::unique_ptr<T> value) const {
    return publish_once(slots_[i], std::move(value));
  }

 private:
  void swap(OnceSlots& other) noexcept {
    std::swap(slots_, other.slots_);
    std::swap(size_, other.size_);
  }
  std::unique_ptr<std::atomic<T*>[]> slots_;
  std::size_t size_ = 0;
};

// Routes from a source are kept in chunks of `route_chunk` destinations, and chunks in groups of
// `route_chunk` chunks, each made when first used: a source that routes to a few peers (a ring's
// neighbours) costs a group and a chunk or two (about 1.3 KB), not a slot per device of a cluster
// of a hundred thousand (16 KB a source, 2 GB for every source of 131,072 devices).
inline constexpr std::size_t route_chunk = 64;
template <class T>
struct FixedOnceSlots {
  FixedOnceSlots() = default;
  FixedOnceSlots(const FixedOnceSlots&) = delete;
  FixedOnceSlots& operator=(const FixedOnceSlots&) = delete;
  ~FixedOnceSlots() {
    for (auto& slot : slots)
      delete slot.load(std::memory_order_relaxed);
  }
  // Filled through const references, as OnceSlots are.
  mutable std::array<std::atomic<T*>, route_chunk> slots{};
};
using RouteChunk = FixedOnceSlots<std::vector<LinkId>>;
using RouteChunkGroup = FixedOnceSlots<RouteChunk>;

// The routes found from one source device: the route to destination d is in group
// d / route_chunk², chunk (d / route_chunk) % route_chunk, slot d % route_chunk.
struct RoutesFromSource {
  explicit RoutesFromSource(int device_count)
      : groups((static_cast<std::size_t>(device_count) + route_chunk * route_chunk - 1) /
               (route_chunk * route_chunk)) {}
  OnceSlots<RouteChunkGroup> groups;
};

// Hop distances over the network switches (indexed from the first switch vertex), from one
// route class; unreachable where none leads.
using SwitchHops = std::vector<std::uint16_t>;

// What route search knows of a generated network's symmetry (route_search.cpp explains it).
struct RouteSymmetry {
  enum class Kind {
    per_source,  // a custom network: a hop-distance table over every vertex per source device
    torus,       // distances from coordinates, no table
    nodes,       // alike nodes hung from switches by one uplink per NIC: tables per route class
  };
  Kind kind = Kind::per_source;
  // nodes: devices per node, vertices per node (its devices, then the rest), NICs per node.
  int per_node = 0;
  int locals = 0;
  VertexId first_switch = 0;
  std::vector<int> nic_locals;  // node-local index of each NIC of a node, by NIC index
  // Hops inside node 0 (node-local indices), between its own vertices only: from each local
  // device as a route's source, and from each NIC entering the source's own node (no NIC to a
  // device) or another node (any edge), devices forwarding nothing.
  std::vector<std::vector<std::uint16_t>> from_device;
  std::vector<std::vector<std::uint16_t>> from_nic_own_node;
  std::vector<std::vector<std::uint16_t>> from_nic_other_node;
  // Hops from NIC a to NIC b through a node's own vertices (transit through a node, where NICs
  // hang from the same PCIe tree): the weighted edges between switches it adds.
  struct Transit {
    int from_nic = 0;
    int to_nic = 0;
    int hops = 0;
  };
  std::vector<Transit> transits;
  // The switches as a graph of their own: neighbours (switch indices) in compressed rows.
  std::vector<std::uint32_t> switch_edge_begin;
  std::vector<std::uint32_t> switch_edges;
  // Per switch: the lowest-numbered switch with the same neighbours (its twin representative;
  // itself when it has no twin). Where no node carries transit, a source that leaves its node
  // through one switch reads its distances from its representative's table.
  std::vector<std::uint32_t> twin;
  // Route classes: table c < switch count is the one from switch c alone (offset 0); beyond,
  // one per distinct set of (switch, hops to it) a source leaves its node through.
  std::vector<std::vector<std::pair<std::uint32_t, std::uint16_t>>> exit_sets;
  std::vector<std::uint32_t> class_of_device;
  OnceSlots<SwitchHops> tables;
  // torus: per axis, its extent and whether it wraps around.
  std::vector<int> torus_extent;  // by axis
  std::vector<bool> torus_wraps;  // by axis
  // The axes in the order device indices fill them (the torus's rank_axes): a device's
  // coordinate on the first is its index modulo that axis's extent, and so on.
  std::vector<int> torus_fill_order;
};

}  // namespace scaleplan::topology_detail

namespace scaleplan {

struct Topology::Graph {
  topology_detail::BoostGraph graph;
  topology_detail::RouteSymmetry symmetry;
  // Made by finish_building, once the devices are known; filled as routes are asked for.
  topology_detail::OnceSlots<topology_detail::RoutesFromSource> routes_from;  // per source
  // Per source device, where symmetry.kind is per_source: hops to every vertex.
  topology_detail::OnceSlots<std::vector<std::uint16_t>> hops_from;
  // endpoint_path's and endpoint_links' routes from each shape's first node: [its first slot
  // (inside_node_slot_) + local source · its devices + local destination] inside the node,
  // [its first device + local source] out of it.
  topology_detail::OnceSlots<InsideNode> inside_node;
  topology_detail::OnceSlots<WayOut> way_out;
};

}  // namespace scaleplan
