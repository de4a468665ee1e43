// 2D and 3D tori of devices linked chip to chip (TPU ICI), with wrap-around per axis, and
// slices of several cubes joined through optical circuit switches.
#include <algorithm>
#include <numeric>

#include "hardware/topology.hpp"

namespace scaleplan {

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
  if (size != device_count_) {
    throw TopologyError("a torus of " + std::to_string(size) + " devices cannot hold the " +
                        std::to_string(device_count_) + " devices of the cluster");
  }
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
      add_duplex_link(device_vertex(d), device_vertex(torus_device(next)), bw, latency);
    }
  }
}

}  // namespace scaleplan
