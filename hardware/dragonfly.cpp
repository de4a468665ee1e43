// Dragonfly: groups of routers, routers of a group all joined by local links, groups all joined
// to each other by global links (Kim, Dally, Scott, Abts, "Technology-Driven, Highly-Scalable
// Dragonfly Topology", ISCA 2008). Routes are minimal (local, global, local); Valiant or
// adaptive non-minimal routing is not modelled.
#include <cmath>

#include "hardware/topology.hpp"

namespace scaleplan {

double dragonfly_links(double nics, const DragonflySpec& dragonfly) {
  const double a = dragonfly.routers_per_group;
  const double p = dragonfly.nics_per_router;
  const double h = dragonfly.global_links_per_router;
  if (a < 1 || p < 1 || h < 1)
    return 2 * nics;
  const double routers = std::ceil(nics / p);
  const double groups = std::ceil(routers / a);
  // As build_dragonfly: m = ⌊a·h / (groups − 1)⌋ parallel links between every two groups.
  const double global =
      groups > 1 ? groups * (groups - 1) / 2 * std::floor(a * h / (groups - 1)) : 0;
  return 2 * (nics + groups * a * (a - 1) / 2 + global);
}

void Topology::build_dragonfly(const ClusterSpec& cluster,
                               const std::vector<VertexId>& nic_vertices) {
  const NetworkSpec& net = cluster.network;
  const DragonflySpec& df = net.dragonfly;
  const int a = df.routers_per_group;
  const int p = df.nics_per_router;
  const int h = df.global_links_per_router;
  if (a < 1 || p < 1 || h < 1) {
    throw TopologyError(
        "a dragonfly needs at least one router per group, one NIC per router and one global "
        "link per router");
  }
  const double bw = net.link_bandwidth_bytes_per_s;
  const double latency = net.switch_latency_s;
  const int nics = static_cast<int>(nic_vertices.size());
  const int routers = (nics + p - 1) / p;
  const int groups = (routers + a - 1) / a;
  // One global link between every two groups needs a·h ≥ groups − 1 global ports per group.
  if (groups - 1 > a * h) {
    throw TopologyError(std::to_string(nics) + " NICs make " + std::to_string(groups) +
                        " dragonfly groups, but a group of " + std::to_string(a) + " routers × " +
                        std::to_string(h) + " global links reaches at most " +
                        std::to_string(a * h + 1) +
                        " groups; raise routers_per_group, global_links_per_router or "
                        "nics_per_router");
  }
  std::vector<VertexId> router(static_cast<std::size_t>(groups) * a);
  for (int g = 0; g < groups; ++g) {
    for (int r = 0; r < a; ++r)
      router[g * a + r] = add_vertex({VertexKind::network_switch, -1, g * a + r, 0});
  }
  for (int i = 0; i < nics; ++i)
    add_duplex_link(nic_vertices[i], router[i / p], bw, latency);
  for (int g = 0; g < groups; ++g) {
    for (int r = 0; r < a; ++r) {
      for (int s = r + 1; s < a; ++s)
        add_duplex_link(router[g * a + r], router[g * a + s], bw, latency);
    }
  }
  if (groups == 1)
    return;
  // The a·h global ports of a group are dealt out evenly to the other groups: m parallel links
  // per pair. Group i's ports for group j are (j' · m + r), j' = j's rank among i's peers, and
  // port q sits on router q / h.
  const int m = a * h / (groups - 1);
  for (int i = 0; i < groups; ++i) {
    for (int j = i + 1; j < groups; ++j) {
      const int j_rank = j - 1;  // j > i: skip i itself
      const int i_rank = i;      // i < j
      for (int r = 0; r < m; ++r) {
        const VertexId from = router[i * a + (j_rank * m + r) / h];
        const VertexId to = router[j * a + (i_rank * m + r) / h];
        add_duplex_link(from, to, bw, latency);
      }
    }
  }
}

}  // namespace scaleplan
