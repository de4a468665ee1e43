// 2D and 3D tori of devices linked chip to chip (TPU ICI), with wrap-around per axis, and
// slices of several cubes joined through optical circuit switches.
#include <algorithm>
#include <numeric>
#include <tuple>

#include "hardware/topology.hpp"

namespace scaleplan {

namespace {

// How a group of consecutive ranks lies on the axes under a fill order: whether it cuts an axis
// unevenly (neither whole axes nor a divisor of the next), the axes it spans, and whether its
// first axis is whole (so its ring closes over the wrap-around).
struct GroupLayout {
  bool uneven = false;
  int axes = 0;
  bool open_ring = false;
  auto key() const { return std::tuple(uneven, axes, open_ring); }
};

GroupLayout group_layout(const std::vector<int>& dims, const std::vector<int>& order, int group) {
  GroupLayout layout;
  int remaining = group;
  for (std::size_t i = 0; i < order.size() && remaining > 1; ++i) {
    const int extent = dims[static_cast<std::size_t>(order[i])];
    if (extent == 1)
      continue;
    ++layout.axes;
    if (i == 0 || layout.axes == 1)
      layout.open_ring = remaining < extent;
    if (remaining % extent == 0) {
      remaining /= extent;
    } else if (extent % remaining == 0) {
      remaining = 1;
    } else {
      layout.uneven = true;
      remaining = (remaining + extent - 1) / extent;
    }
  }
  return layout;
}

}  // namespace

int torus_axes_spanned(const std::vector<int>& dims, const std::vector<int>& order, int group) {
  return group_layout(dims, order, group).axes;
}

std::vector<int> torus_fill_order_for_group(const std::vector<int>& dims, int group) {
  std::vector<int> order(dims.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int> best = order;
  auto best_key = group_layout(dims, best, group).key();
  while (std::next_permutation(order.begin(), order.end())) {
    const auto key = group_layout(dims, order, group).key();
    if (key < best_key) {
      best = order;
      best_key = key;
    }
  }
  return best;
}

void Topology::build_torus(const ClusterSpec& cluster) {
  const TorusSpec& torus = cluster.network.torus;
  const auto axes = torus.dims.size();
  if (axes < 2 || axes > 3)
    throw TopologyError("a torus has 2 or 3 axes, not " + std::to_string(axes));
  std::int64_t size = 1;
  for (int extent : torus.dims) {
    if (extent < 1)
      throw TopologyError("every torus axis needs at least one device");
    size *= extent;
  }
  if (torus.slices < 1)
    throw TopologyError("a cluster needs at least one slice");
  if (size * torus.slices != device_count_) {
    throw TopologyError(std::to_string(torus.slices) + " slice(s) of a torus of " +
                        std::to_string(size) + " devices cannot hold the " +
                        std::to_string(device_count_) + " devices of the cluster");
  }
  if (torus.slices > 1 && size % cluster.devices_per_node != 0) {
    throw TopologyError("a slice of " + std::to_string(size) +
                        " devices does not hold whole hosts of " +
                        std::to_string(cluster.devices_per_node));
  }
  torus_slice_size_ = static_cast<int>(size);
  if (!torus.cube.empty()) {
    if (torus.cube.size() != axes)
      throw TopologyError("the cube needs one extent per torus axis");
    for (std::size_t a = 0; a < axes; ++a) {
      // A slice is part of one cube or a whole number of cubes along each axis.
      if (torus.cube[a] < 1 ||
          (torus.dims[a] > torus.cube[a] && torus.dims[a] % torus.cube[a] != 0)) {
        throw TopologyError(
            "torus axis " + std::to_string(a) + " of " + std::to_string(torus.dims[a]) +
            " devices is not a whole number of cubes of " + std::to_string(torus.cube[a]));
      }
    }
  }
  const bool wrap_given = !torus.wraparound.empty();
  if (wrap_given && torus.wraparound.size() != axes)
    throw TopologyError("wraparound needs one value per torus axis");
  torus_dims_ = torus.dims;
  torus_rank_axes_.resize(axes);
  std::iota(torus_rank_axes_.begin(), torus_rank_axes_.end(), 0);
  if (!torus.rank_axes.empty()) {
    std::vector<int> sorted = torus.rank_axes;
    std::sort(sorted.begin(), sorted.end());
    if (sorted != torus_rank_axes_) {
      throw TopologyError("rank_axes must name each torus axis once, from 0 to " +
                          std::to_string(axes - 1));
    }
    torus_rank_axes_ = torus.rank_axes;
  }
  const double bw = torus.link_bandwidth_bytes_per_s;
  const double latency = torus.link_latency_s;
  for (int d = 0; d < device_count_; ++d) {
    const int slice_first = d - d % torus_slice_size_;
    const std::vector<int> c = torus_coordinates(d);
    for (std::size_t a = 0; a < axes; ++a) {
      const int extent = torus.dims[a];
      // Link to the +1 neighbour; the last device of the axis wraps to the first where the axis
      // wraps around. Along an axis of two the wrap-around would duplicate the one link.
      std::vector<int> next = c;
      if (c[a] + 1 < extent) {
        next[a] = c[a] + 1;
      } else if (extent > 2 && (!wrap_given || torus.wraparound[a])) {
        next[a] = 0;
      } else {
        continue;
      }
      add_duplex_link(device_vertex(d), device_vertex(slice_first + torus_device(next)), bw,
                      latency);
    }
  }
  if (torus.slices > 1)
    build_dcn(cluster);
}

// Every host's NIC on one non-blocking DCN switch; a device reaches its host's NIC over its host
// link (PCIe). Only routes between slices take these links (route()).
void Topology::build_dcn(const ClusterSpec& cluster) {
  const TorusSpec& torus = cluster.network.torus;
  if (!(torus.dcn_bandwidth_per_host_bytes_per_s > 0))
    throw TopologyError("a multi-slice cluster needs a DCN bandwidth per host");
  const VertexId dcn_switch = add_vertex({VertexKind::network_switch, -1, 0, 1});
  const auto devices = static_cast<std::size_t>(device_count_);
  dcn_device_up_.resize(devices);
  dcn_device_down_.resize(devices);
  dcn_nic_up_.resize(static_cast<std::size_t>(cluster.nodes));
  dcn_nic_down_.resize(static_cast<std::size_t>(cluster.nodes));
  // Half the DCN latency at each host's NIC (the switch hop is in the catalog's figure).
  const double nic_latency = torus.dcn_latency_s / 2;
  for (int node = 0; node < cluster.nodes; ++node) {
    const VertexId nic = add_vertex({VertexKind::nic, node, 0, 0});
    const DeviceSpec& d = cluster.device_of_node(node);
    for (int i = 0; i < cluster.devices_per_node; ++i) {
      const int device = node * cluster.devices_per_node + i;
      const auto up = static_cast<LinkId>(links_.size());
      add_duplex_link(device_vertex(device), nic, d.host_link_bandwidth_bytes_per_s.value, 0.0);
      dcn_device_up_[static_cast<std::size_t>(device)] = up;
      dcn_device_down_[static_cast<std::size_t>(device)] = up + 1;
    }
    const auto up = static_cast<LinkId>(links_.size());
    add_duplex_link(nic, dcn_switch, torus.dcn_bandwidth_per_host_bytes_per_s, nic_latency);
    dcn_nic_up_[static_cast<std::size_t>(node)] = up;
    dcn_nic_down_[static_cast<std::size_t>(node)] = up + 1;
  }
}

}  // namespace scaleplan
