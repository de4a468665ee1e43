// The cluster network as a Boost.Graph graph: vertices are devices, NICs and switches; every edge
// is one direction of a link, with its bandwidth and latency. Routes are shortest paths in hops,
// spread over equal-cost alternatives by a deterministic hash of the endpoints (ECMP).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"

namespace scaleplan {

using VertexId = std::uint32_t;
using LinkId = std::uint32_t;

enum class VertexKind { device, nic, node_switch, network_switch };

struct Vertex {
  VertexKind kind = VertexKind::device;
  int node = -1;  // owning node, -1 for network switches
  int index = 0;  // device, NIC or switch index within its node or tier
  int tier = 0;   // network switches: 1 leaf, 2 spine/aggregation, 3 core
};

// One direction of a physical link (or of a bundle of parallel links between two switches).
struct Link {
  VertexId from = 0;
  VertexId to = 0;
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
};

// Thrown when a cluster description cannot be built into a connected network.
class TopologyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Topology {
 public:
  // Builds the graph for a cluster. Throws TopologyError when some device cannot reach another.
  explicit Topology(const ClusterSpec& cluster);

  // A hand-made network: `device_count` devices (vertices 0..device_count-1), `switch_count`
  // switches after them, and duplex links between any of them.
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
  std::size_t vertex_count() const { return vertices_.size(); }
  std::size_t link_count() const { return links_.size(); }
  const Vertex& vertex(VertexId v) const { return vertices_[v]; }
  const Link& link(LinkId id) const { return links_[id]; }
  VertexId device_vertex(int device) const { return static_cast<VertexId>(device); }
  std::string vertex_name(VertexId v) const;
  std::string link_name(LinkId id) const;

  // Links from one device to another, in order. Cached; O(V + E) on the first route from a
  // source, O(path length) after.
  const std::vector<LinkId>& route(int src_device, int dst_device) const;
  double route_latency_s(int src_device, int dst_device) const;

 private:
  struct Graph;
  Topology();
  VertexId add_vertex(Vertex v);
  void add_duplex_link(VertexId a, VertexId b, double bandwidth_bytes_per_s, double latency_s);
  void build_node(const ClusterSpec& cluster, int node, std::vector<VertexId>& nic_vertices);
  void build_fat_tree(const ClusterSpec& cluster, const std::vector<VertexId>& nic_vertices);
  void check_connected() const;
  const std::vector<std::uint16_t>& distances_from(VertexId source) const;

  int device_count_ = 0;
  std::vector<Vertex> vertices_;
  std::vector<Link> links_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace scaleplan
