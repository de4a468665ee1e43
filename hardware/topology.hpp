// The cluster network as a Boost.Graph graph: vertices are devices, NICs, host bridges and
// switches; every edge is one direction of a link, with its bandwidth and latency. Routes are
// shortest paths in hops. Among equal-cost paths a route takes, at each branch, the branch its
// source device selects (its key modulo the number of branches, then the quotient for the next
// branch: D-mod-k routing keyed on the source's leaf port, deterministic and free of collisions
// for the shifted permutations that rings and tree levels produce).
//
// Generators (one file each): node fabrics and PCIe host bridges (topology.cpp), fat-tree and
// rail-optimized fabrics (fat_tree.cpp), 2D/3D torus (torus.cpp), dragonfly (dragonfly.cpp).
// Route search, by classes of sources that share their hop distances: route_search.cpp.
//
// Sharing between threads: a Topology is built once and then only read. Its const methods may
// be called from any number of threads at once on one shared Topology (a planner or a sweep
// builds it once and simulates many plans on it in parallel); they give every thread the same
// results as a single thread would. What they route is remembered (routes, route classes' hop
// distances, endpoint paths) in slots that are each filled at most once and never change after: a
// lookup is one atomic load, with no lock; two threads that reach an empty slot at once may both
// compute its value, which is the same, and the first to publish it wins. References returned
// (route()) stay valid as long as the Topology. Moving or destroying a Topology while another
// thread reads it is a data race, as for any object.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"

namespace scaleplan {

using VertexId = std::uint32_t;
using LinkId = std::uint32_t;

enum class VertexKind { device, nic, node_switch, network_switch, host_bridge };

struct Vertex {
  VertexKind kind = VertexKind::device;
  int node = -1;  // owning node, -1 for network switches
  int index = 0;  // device, NIC, switch or socket index within its node or tier
  int tier = 0;   // network switches: 1 leaf, 2 spine/aggregation, 3 core; dragonfly: group
};

// One direction of a physical link (or of a bundle of parallel links between two switches).
struct Link {
  VertexId from = 0;
  VertexId to = 0;
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
};

// The most directed links a network may have. A link costs about 160 bytes once built and routed
// (a dragonfly of 8.6 million links and vertices held 1.4 GB), so a network stays under about
// 1.3 GB; a fat-tree of 32,768 devices has 0.34 million links and vertices. Generators refuse a
// larger network when they reach the limit, and scenario readers refuse the shapes whose links
// grow faster than their devices (node_mesh_links, dragonfly_links) before anything is built.
inline constexpr std::int64_t max_network_links = 1 << 23;

// Directed links of a cluster's NVLink meshes (every pair of a node's devices, in every node):
// 0 for other node fabrics. In floating point, so that no size overflows the count.
double node_mesh_links(const ClusterSpec& cluster);
// Directed links of a dragonfly fabric over `nics` NICs: NIC to router, the routers of each group
// all joined, and the global links between groups (build_dragonfly). Counted, not built.
double dragonfly_links(double nics, const DragonflySpec& dragonfly);

// The order in which consecutive device indices fill a torus's axes (TorusSpec::rank_axes) that
// puts each group of `group` consecutive ranks (a tensor-parallel group: tp is the fastest rank
// coordinate) on the fewest axes: one axis where `group` divides its extent, as a closed ring
// (with its wrap-around) where it equals it; else two or three whole axes and a part of the
// next; a group that cuts axes unevenly last. Ties keep the lower axes first, so [0, 1, 2] where
// nothing is gained. O(axes!), axes ≤ 3.
std::vector<int> torus_fill_order_for_group(const std::vector<int>& dims, int group);
// The axes (in fill order) each group of `group` consecutive ranks spans under `order`.
int torus_axes_spanned(const std::vector<int>& dims, const std::vector<int>& order, int group);

// Thrown when a cluster description cannot be built into a connected network.
class TopologyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Topology {
 public:
  // Builds the graph for a cluster. Throws TopologyError when the parameters do not describe a
  // buildable network (a fat-tree that needs more tiers than allowed, a torus whose size is not
  // the device count) or when some device cannot reach another.
  explicit Topology(const ClusterSpec& cluster);

  // A hand-made network: `device_count` devices (vertices 0..device_count-1), `switch_count`
  // switches after them, and duplex links between any of them. Devices forward traffic (a ring
  // of devices routes around the ring); all devices count as one node.
  struct DuplexLink {
    VertexId a = 0;
    VertexId b = 0;
    double bandwidth_bytes_per_s = 0;
    double latency_s = 0;
  };
  static Topology custom(int device_count, int switch_count, const std::vector<DuplexLink>& links);
  ~Topology();
  Topology(Topology&&) noexcept;
  Topology& operator=(Topology&&) noexcept;

  int device_count() const { return device_count_; }
  int node_count() const { return node_count_; }
  int node_of(int device) const { return vertices_[device_vertex(device)].node; }
  // A node's first device and its devices (node groups may differ in size): devices are numbered
  // node after node.
  int node_first_device(int node) const {
    return node_first_device_[static_cast<std::size_t>(node)];
  }
  int node_device_count(int node) const {
    return node_first_device_[static_cast<std::size_t>(node) + 1] -
           node_first_device_[static_cast<std::size_t>(node)];
  }
  std::size_t vertex_count() const { return vertices_.size(); }
  std::size_t link_count() const { return links_.size(); }
  const Vertex& vertex(VertexId v) const { return vertices_[v]; }
  const Link& link(LinkId id) const { return links_[id]; }
  VertexId device_vertex(int device) const { return static_cast<VertexId>(device); }
  std::string vertex_name(VertexId v) const;
  std::string link_name(LinkId id) const;

  // What the cluster was built from, for collective algorithms that follow the hardware; absent
  // for a custom network, about which nothing is assumed.
  // The cluster's node fabric; node groups may give their nodes their own (node_fabric_of).
  std::optional<NodeFabric> node_fabric() const { return node_fabric_; }
  std::optional<NodeFabric> node_fabric_of(int node) const {
    return node_fabrics_.empty() ? std::nullopt
                                 : std::optional(node_fabrics_[static_cast<std::size_t>(node)]);
  }
  bool in_network_reduction() const { return in_network_reduction_; }
  // Torus networks: devices along each axis, and a device's coordinates: the axes of
  // TorusSpec::rank_axes vary with the device index, the first fastest (axis 0 first when it is
  // not given). Empty for other networks. torus_device is the inverse.
  const std::vector<int>& torus_dims() const { return torus_dims_; }
  std::vector<int> torus_coordinates(int device) const;
  int torus_device(const std::vector<int>& coordinates) const;
  // Multi-slice tori (TorusSpec::slices): the slices, and a device's slice. Coordinates are
  // within the device's slice; torus_device gives the device of slice 0. A route between slices
  // leaves through the source's host NIC, crosses the DCN switch and enters through the
  // destination's host NIC; a route inside a slice stays on its torus.
  int torus_slices() const { return torus_slice_size_ > 0 ? device_count_ / torus_slice_size_ : 1; }
  int torus_slice_of(int device) const {
    return torus_slice_size_ > 0 ? device / torus_slice_size_ : 0;
  }

  // Links from one device to another, in order. Cached: O(path length × links into its
  // vertices) on the first route to a destination, O(1) after. A device is never a transit hop
  // unless devices forward (torus, custom networks).
  const std::vector<LinkId>& route(int src_device, int dst_device) const;
  double route_latency_s(int src_device, int dst_device) const;

  // Route search. A route follows hop distances from its source, which the source reads from a
  // table it shares with every device of its route class, built on its first route. Where the
  // network is alike nodes hung from switches (fat-tree, rail-optimized, dragonfly), a class is
  // the switches and hops through which a device leaves its node, so that the devices of a leaf
  // share one table (and the leaves with the same neighbours, as those of a pod, share theirs);
  // the table holds hops to the switches only (2 bytes a switch), the hops to a node's own
  // vertices coming from node 0's. A torus needs no table (hops add up along its axes: one
  // class); a custom network has one class per device, whose table covers every vertex.
  std::size_t route_class_count() const;
  std::size_t route_class(int src_device) const;
  // The vertices and links one class's table search visits, and its bytes.
  double route_class_search_work() const;
  std::size_t route_class_table_bytes() const;
  // Tables built so far and their bytes (for benchmarks; O(route_class_count())).
  struct RouteTableUse {
    std::size_t tables = 0;
    std::size_t bytes = 0;
  };
  RouteTableUse route_table_use() const;

  // A transfer from one device to another as estimates see it, without routing it: its route's
  // bottleneck bandwidth and latency, and the two endpoint ports it occupies (equal ids for
  // transfers that share a device's port into its node fabric, a directly linked pair, or a
  // NIC). Every node of a generated cluster is built alike, so each (local source, local
  // destination) pair inside a node, and each local device's way out of its node, is routed
  // once, from the first node of that shape (out of the node: to the last node, the longest
  // way). Exact where only the endpoints limit traffic, as in nonblocking fabrics; costs no
  // routing per device, so it serves clusters of any size. Nodes of different devices or shapes
  // (node groups) do not share their links' figures: there the bandwidth and latency come from
  // the transfer's own route (routed once per source device, as route() does). Where devices
  // forward traffic
  // (tori, custom networks) there are no such ports: `routed` is set and the caller takes
  // route(src, dst) instead.
  struct EndpointPath {
    double bandwidth_bytes_per_s = 0;
    double latency_s = 0;
    std::uint64_t egress_port = 0;
    std::uint64_t ingress_port = 0;
    bool routed = false;
    // Between nodes of a folded Clos: the uplinks it climbs through (its leaf's, then its pod's
    // when it leaves the pod) and the downlinks it descends, each bundle one port that every
    // transfer through it shares, at the bundle's total bandwidth (ECMP spreads it over the
    // bundle's links). This is where oversubscription shows; none inside a node or under one leaf.
    struct Bundle {
      std::uint64_t port = 0;
      double bandwidth_bytes_per_s = 0;
    };
    std::array<Bundle, 4> bundles{};
    int bundle_count = 0;
  };
  EndpointPath endpoint_path(int src_device, int dst_device) const;

  // The links of a transfer that endpoint_path can name without routing it, appended to `out`:
  // inside a node, its whole route; between nodes, the source's links to its NIC and that NIC's
  // link into the network, then the destination NIC's link out of the network and its links to
  // the destination. The fabric between the two NICs' switches is left out: naming it would take
  // the routing endpoint_path avoids. Where devices forward (`routed`), the whole route.
  void endpoint_links(int src_device, int dst_device, std::vector<LinkId>& out) const;

 private:
  struct Graph;
  // A local device's way out of a shape's first node (`shape_node`), to the same device of the
  // last node of that shape (the longest way; another node where it has none): its links up to
  // and including the one into its NIC, that NIC, and the whole route's bottleneck bandwidth and
  // latency.
  struct WayOut {
    std::vector<LinkId> links;
    VertexId nic = 0;
    double bandwidth_bytes_per_s = 0;
    double latency_s = 0;
  };
  const WayOut& way_out(int shape_node, int local_device) const;
  // A path inside a shape's first node and whether it is a single link (a directly linked pair).
  struct InsideNode {
    EndpointPath path;
    bool direct = false;
  };
  const InsideNode& inside_node(int shape_node, int src_local, int dst_local) const;
  // A link or vertex of a shape's first node moved to the same one of `node` (of that shape).
  LinkId in_node(LinkId shape_node_link, int node) const {
    return shape_node_link + node_first_link_[static_cast<std::size_t>(node)] -
           node_first_link_[static_cast<std::size_t>(node_shape_node_[node])];
  }
  VertexId in_node_vertex(VertexId shape_node_vertex, int node) const {
    return shape_node_vertex + node_first_vertex_[static_cast<std::size_t>(node)] -
           node_first_vertex_[static_cast<std::size_t>(node_shape_node_[node])];
  }
  // Hops from one source to any vertex, as route search reads them (route_search.cpp).
  struct SourceHops;
  SourceHops source_hops(int src_device) const;
  // Finds what route search needs to know of the built network (route_search.cpp).
  void prepare_route_search();
  // The switch (counted from the first switch vertex) that NIC `nic_local` (a node-local
  // vertex index) of a node hangs from.
  std::uint32_t nic_switch(int node, int nic_local) const;
  // Per leaf switch of a folded Clos: its uplinks' total bandwidth, its pod (the lowest of its
  // aggregation switches, the same for every leaf of the pod) and the pod's uplinks' total.
  struct LeafUplinks {
    double leaf_bytes_per_s = 0;
    VertexId pod = 0;
    double pod_bytes_per_s = 0;
  };
  void find_leaf_uplinks();
  Topology();
  VertexId add_vertex(Vertex v);
  void add_duplex_link(VertexId a, VertexId b, double bandwidth_bytes_per_s, double latency_s);
  void add_devices(const ClusterSpec& cluster);
  void build_node(const ClusterSpec& cluster, int node, std::vector<VertexId>& nic_vertices);
  // NICs in node-major order (NIC k of node n at n·nics_per_node + k).
  void build_fat_tree(const ClusterSpec& cluster, const std::vector<VertexId>& nic_vertices);
  void build_rail_optimized(const ClusterSpec& cluster, const std::vector<VertexId>& nic_vertices);
  // `leaf_nics[l]`: the NICs on leaf l; consecutive leaves share a pod.
  void build_folded_clos(const NetworkSpec& net,
                         const std::vector<std::vector<VertexId>>& leaf_nics);
  // Keys the routes of each device wired to a NIC of its own by that NIC's leaf port.
  void key_routes_by_leaf_port(const std::vector<std::vector<VertexId>>& leaf_nics);
  // Gives every device its index as its route key, where no generator keyed it otherwise.
  void key_routes_by_device_index();
  void build_torus(const ClusterSpec& cluster);
  void build_dcn(const ClusterSpec& cluster);
  void build_dragonfly(const ClusterSpec& cluster, const std::vector<VertexId>& nic_vertices);
  // The last step of every constructor: makes the (empty) caches for the built network, then
  // checks that every device reaches device 0.
  void finish_building();
  EndpointPath summarize_route(int src_device, int dst_device) const;
  // Sets the bandwidth and latency of `path` to those of the route between the two devices.
  void set_route_figures(EndpointPath& path, int src_device, int dst_device) const;

  int device_count_ = 0;
  int node_count_ = 1;
  // Where every node of a generated cluster has one shape, they are built alike, node after
  // node: node n's links are node 0's plus n · node_link_stride_, and the same holds for its
  // vertices after the devices (route search's node symmetry reads these). Zero where shapes mix.
  LinkId node_link_stride_ = 0;
  VertexId node_vertex_stride_ = 0;
  // Per node, and one past the last: its first device, its first vertex after the devices and its
  // first link; and per node the first node of its shape, built alike, whose paths it reuses
  // (node 0 for every node where shapes do not mix).
  std::vector<int> node_first_device_;
  std::vector<VertexId> node_first_vertex_;
  std::vector<LinkId> node_first_link_;
  std::vector<int> node_shape_node_;
  // Per shape's first node: where its paths inside the node start among the cached ones.
  std::vector<std::size_t> inside_node_slot_;
  std::vector<LinkId> nic_uplink_;  // per vertex: a NIC's link into the network
  // Per device, the number D-mod-k routing spreads its routes by (route()): in a folded Clos the
  // leaf port of the NIC it is wired to alone, counted leaf by leaf; elsewhere its index.
  std::vector<std::uint64_t> route_key_;
  std::vector<LeafUplinks> leaf_uplinks_;  // per vertex: a leaf switch's
  bool devices_forward_ = false;
  // Every node has the same links' figures (no node groups of different devices or shapes):
  // endpoint_path takes the first node's.
  bool nodes_alike_ = true;
  bool shapes_alike_ = true;
  bool in_network_reduction_ = false;
  std::optional<NodeFabric> node_fabric_;
  std::vector<NodeFabric> node_fabrics_;  // per node; empty for a custom network
  std::vector<int> torus_dims_;
  std::vector<int> torus_rank_axes_;  // the axes in the order device indices fill them
  int torus_slice_size_ = 0;          // devices per slice of a torus; 0 for other networks
  // Multi-slice: per device its links to and from its host's NIC, per node its NIC's links to
  // and from the DCN switch.
  std::vector<LinkId> dcn_device_up_, dcn_device_down_, dcn_nic_up_, dcn_nic_down_;
  std::vector<Vertex> vertices_;
  std::vector<Link> links_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace scaleplan
