// Collective operations expanded into transfers between devices.
//
// An algorithm turns a collective into phases. All transfers of a phase run concurrently as
// flows on the network; a phase ends when its last flow ends, plus its pipeline fill, plus
// `steps` times the per-step latency (software step cost plus the longest route's wire latency).
// A ring's 2(n-1) steps move equal chunks along the same links, so they are one phase of n
// flows, each carrying the sum of its steps' chunks: the bandwidth term is exact and contention
// with other traffic is shared max-min over the whole collective.
//
// A pipelined phase (a tree streaming chunks up and down) carries its whole volume as flows,
// which gives the steady state; a chunk must still cross `pipeline_stages` hops, so the phase
// lasts (chunks + stages − 1) chunk times: the flow time × (1 + (stages − 1) / chunks).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hardware/input/enum_names.hpp"
#include "hardware/topology.hpp"
#include "sim/plan/collective_kind.hpp"

namespace scaleplan {

// ring: a ring through the members in group order (reductions, gathers, broadcast,
//   all-to-all). Reductions and gathers over several nodes with the same count on each open one
//   channel per member of a node, as NCCL does, each leaving every node through its own
//   member's NIC towards the same member of the next node (PXN keeps the hop on its rail), so
//   every NIC of the group carries its share.
// direct: every member sends to every other at once (all-to-all).
// double_binary_tree: NCCL's two complementary binary trees over nodes (each carries half the
//   data, pipelined in chunks), with a chain inside each node; one tree channel per member of a
//   node, so that each rail carries its share (all-reduce).
// hierarchical: reduce-scatter inside each node, all-reduce across nodes by one ring per local
//   index (rail), all-gather inside each node (all-reduce; needs the same count per node).
// torus: bidirectional rings along each torus axis in turn, reduce-scatter axis by axis, then
//   all-gather in reverse (all-reduce, reduce-scatter, all-gather; members must form a box).
// halving_doubling: Rabenseifner's recursive halving reduce-scatter and recursive doubling
//   all-gather, log2 n exchanges each (reductions and gathers).
// in_network: the switch reduces (NVLink SHARP inside an NVSwitch node, SHARP across nodes of
//   one member each): every member sends S and receives S once (all-reduce; needs
//   in_network_reduction).
enum class CollectiveAlgorithm {
  ring,
  direct,
  double_binary_tree,
  hierarchical,
  torus,
  halving_doubling,
  in_network
};

inline constexpr EnumNames<CollectiveAlgorithm, 7> collective_algorithm_names{{{
    {CollectiveAlgorithm::ring, "ring"},
    {CollectiveAlgorithm::direct, "direct"},
    {CollectiveAlgorithm::double_binary_tree, "double-binary-tree"},
    {CollectiveAlgorithm::hierarchical, "hierarchical"},
    {CollectiveAlgorithm::torus, "torus"},
    {CollectiveAlgorithm::halving_doubling, "halving-doubling"},
    {CollectiveAlgorithm::in_network, "in-network"},
}}};

inline std::string_view to_string(CollectiveAlgorithm algorithm) {
  return collective_algorithm_names.name(algorithm);
}

struct Transfer {
  int src_device = 0;
  int dst_device = 0;
  double bytes = 0;
};

struct Phase {
  std::vector<Transfer> transfers;
  int steps = 1;
  int pipeline_stages = 1;  // hops a chunk crosses; 1: not pipelined
  int chunks = 1;           // chunks the data streams in

  // The factor the pipeline fill stretches the flow time by.
  double fill_factor() const {
    return 1.0 + static_cast<double>(pipeline_stages - 1) / static_cast<double>(chunks);
  }
};

// Slice a pipelined algorithm streams in: NCCL's default buffer NCCL_BUFFSIZE (4 MiB, NCCL
// environment variable documentation) split into NCCL_STEPS = 8 slots (src/include/device.h).
inline constexpr double pipeline_chunk_bytes = 4.0 * 1024 * 1024 / 8;

// `bytes` is the size of the full buffer on each member (the all-reduce input, the all-gather
// output, the reduce-scatter input, the all-to-all send buffer, the broadcast buffer). `devices`
// in group order; the topology tells nodes, torus coordinates and in-network reduction.
// Throws std::invalid_argument when the algorithm does not implement the kind or does not fit
// the group (see algorithm_applies).
std::vector<Phase> expand_collective(CollectiveKind kind, CollectiveAlgorithm algorithm,
                                     const std::vector<int>& devices, double bytes,
                                     const Topology& topology);

// Whether expand_collective accepts this algorithm for this kind and group.
bool algorithm_applies(CollectiveKind kind, CollectiveAlgorithm algorithm,
                       const std::vector<int>& devices, const Topology& topology);

// The alpha-beta time of a collective's phases alone on an idle network: per phase, the busiest
// port's transfer time (its transfers' bytes over their paths' bottleneck bandwidth at the
// endpoints, over the bundle's bandwidth at the leaf and pod uplinks of a folded Clos,
// Topology::endpoint_path; on tori and custom networks the busiest link of the routes),
// stretched by the pipeline fill, plus steps × (step latency + longest path latency). What the
// flow model gives when only the endpoints limit a phase; O(transfers), no routing per device,
// so it prices collectives on any number of devices.
double estimate_collective_time_s(const std::vector<Phase>& phases, const Topology& topology,
                                  double step_latency_s);

// The two terms of a phase's alpha-beta time that depend on where its transfers go: the busiest
// port's seconds on them, and the longest path latency. The busiest port's seconds are linear in
// the transfers' bytes, so that a caller pricing the same transfers at many sizes (the planner)
// may work them out once per byte.
struct PhaseLoad {
  double busiest_s = 0;
  double latency_s = 0;
};
PhaseLoad phase_load(const Phase& phase, const Topology& topology);
// A phase's alpha-beta time from its load, as estimate_collective_time_s adds it up: the busiest
// port's seconds stretched by the pipeline fill, plus steps × (step latency + path latency).
double phase_time_s(const Phase& phase, const PhaseLoad& load, double step_latency_s);

// The seconds each of those ports (each link, where devices forward) spends on the phases'
// transfers at its full bandwidth, by port id, each port once: the share of the ports the
// phases take, whatever else runs beside them.
std::vector<std::pair<std::uint64_t, double>> estimate_port_seconds(
    const std::vector<Phase>& phases, const Topology& topology);

// The bytes the same phases put on each link the estimate can name (Topology::endpoint_links:
// the links inside the nodes and the NICs' links, not the fabric between leaf switches), by
// link id, each link once.
std::vector<std::pair<LinkId, double>> estimate_link_bytes(const std::vector<Phase>& phases,
                                                           const Topology& topology);

// NCCL-like choice: among the algorithms that apply (ring, double binary tree, hierarchical,
// torus, in-network; direct for all-to-all), the one with the least estimated time, so that
// trees win for small messages (log n steps against 2(n-1)), rings or the hierarchy for large
// ones, NVLS/SHARP where the switches reduce, per-axis rings on a torus (where trees and the
// node hierarchy are not candidates: TPUs run rings). Ties go to the earlier algorithm in that
// list. Deterministic.
CollectiveAlgorithm choose_algorithm(CollectiveKind kind, const std::vector<int>& devices,
                                     double bytes, const Topology& topology, double step_latency_s);
// The algorithms choose_algorithm weighs for `kind` on `devices`, in its order (ties go to the
// earlier); one when there is no choice (direct for all-to-all; ring for a broadcast or a single
// device). Never empty.
std::vector<CollectiveAlgorithm> algorithm_candidates(CollectiveKind kind,
                                                      const std::vector<int>& devices,
                                                      const Topology& topology);

}  // namespace scaleplan
