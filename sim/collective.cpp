#include "sim/collective.hpp"

#include <stdexcept>

namespace scaleplan {

std::string_view to_string(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::all_reduce:
      return "all-reduce";
    case CollectiveKind::reduce_scatter:
      return "reduce-scatter";
    case CollectiveKind::all_gather:
      return "all-gather";
    case CollectiveKind::all_to_all:
      return "all-to-all";
    case CollectiveKind::broadcast:
      return "broadcast";
  }
  return "?";
}

std::string_view to_string(CollectiveAlgorithm algorithm) {
  switch (algorithm) {
    case CollectiveAlgorithm::ring:
      return "ring";
    case CollectiveAlgorithm::direct:
      return "direct";
  }
  return "?";
}

CollectiveAlgorithm default_algorithm(CollectiveKind kind) {
  return kind == CollectiveKind::all_to_all ? CollectiveAlgorithm::direct
                                            : CollectiveAlgorithm::ring;
}

namespace {

Phase ring_phase(const std::vector<int>& devices, double bytes_per_member, int steps) {
  Phase phase;
  phase.steps = steps;
  const std::size_t n = devices.size();
  for (std::size_t i = 0; i < n; ++i) {
    phase.transfers.push_back({devices[i], devices[(i + 1) % n], bytes_per_member});
  }
  return phase;
}

}  // namespace

std::vector<Phase> expand_collective(CollectiveKind kind, CollectiveAlgorithm algorithm,
                                     const std::vector<int>& devices, double bytes) {
  const std::size_t n = devices.size();
  if (n == 0)
    throw std::invalid_argument("a collective needs at least one member");
  if (n == 1)
    return {};
  const double nd = static_cast<double>(n);
  const int n_steps = static_cast<int>(n) - 1;
  if (algorithm == CollectiveAlgorithm::direct) {
    if (kind != CollectiveKind::all_to_all) {
      throw std::invalid_argument(std::string("the direct algorithm does not implement ") +
                                  std::string(to_string(kind)));
    }
    Phase phase;
    phase.steps = 1;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        if (i != j)
          phase.transfers.push_back({devices[i], devices[j], bytes / nd});
      }
    }
    return {phase};
  }
  switch (kind) {
    case CollectiveKind::all_reduce:
      // Reduce-scatter then all-gather: 2(n-1) steps of S/n each.
      return {ring_phase(devices, 2.0 * (nd - 1) / nd * bytes, 2 * n_steps)};
    case CollectiveKind::reduce_scatter:
    case CollectiveKind::all_gather:
      return {ring_phase(devices, (nd - 1) / nd * bytes, n_steps)};
    case CollectiveKind::broadcast:
      // Pipelined ring broadcast: the buffer streams once around the ring (n-1 hops).
      {
        Phase phase;
        phase.steps = n_steps;
        for (std::size_t i = 0; i + 1 < n; ++i) {
          phase.transfers.push_back({devices[i], devices[i + 1], bytes});
        }
        return {phase};
      }
    case CollectiveKind::all_to_all: {
      // Ring all-to-all: a block for the member d hops away crosses d links, so each ring link
      // carries the sum over d of d·S/n = (n-1)·S/2.
      return {ring_phase(devices, (nd - 1) / 2.0 * bytes, n_steps)};
    }
  }
  return {};
}

}  // namespace scaleplan
