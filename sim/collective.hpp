// Collective operations expanded into transfers between devices.
//
// An algorithm turns a collective into phases. All transfers of a phase run concurrently as
// flows on the network; a phase ends when its last flow ends plus `steps` times the per-step
// latency (software step cost plus the longest route's wire latency). A ring's 2(n-1) steps move
// equal chunks along the same links, so they are one phase of n flows, each carrying the sum of
// its steps' chunks: the bandwidth term is exact and contention with other traffic is shared
// max-min over the whole collective.
#pragma once

#include <string_view>
#include <vector>

namespace scaleplan {

enum class CollectiveKind { all_reduce, reduce_scatter, all_gather, all_to_all, broadcast };
enum class CollectiveAlgorithm { ring, direct };

std::string_view to_string(CollectiveKind kind);
std::string_view to_string(CollectiveAlgorithm algorithm);

struct Transfer {
  int src_device = 0;
  int dst_device = 0;
  double bytes = 0;
};

struct Phase {
  std::vector<Transfer> transfers;
  int steps = 1;
};

// `bytes` is the size of the full buffer on each member (the all-reduce input, the all-gather
// output, the reduce-scatter input, the all-to-all send buffer). `devices` in ring order.
std::vector<Phase> expand_collective(CollectiveKind kind, CollectiveAlgorithm algorithm,
                                     const std::vector<int>& devices, double bytes);

// The algorithm used for a collective (ring for reductions and gathers, direct for all-to-all).
CollectiveAlgorithm default_algorithm(CollectiveKind kind);

}  // namespace scaleplan
