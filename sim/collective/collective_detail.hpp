// Pieces shared by the collective algorithm files (collective.cpp, collective_hierarchy.cpp,
// collective_choice.cpp); not part of the library's interface.
#pragma once

#include <optional>
#include <vector>

#include "sim/collective/collective.hpp"

namespace scaleplan::collective_detail {

// One ring through `devices` in order, every member sending `bytes_per_member` to the next.
Phase ring_phase(const std::vector<int>& devices, double bytes_per_member, int steps);

// A ring over several nodes as NCCL opens it (src/graph/search.cc, src/graph/connect.cc): one
// channel per member of a node, channel c entering every node at its c-th member and going round
// the node's members over the node fabric; the member before the c-th hands the channel's data
// to the c-th member's NIC (PXN, NCCL 2.12: over NVLink to the GPU beside the NIC), so the hop
// between nodes leaves through the c-th member's NIC to the c-th member of the next node, on the
// same rail. Each channel carries 1/m of the data: every link inside a node carries
// `bytes_per_member`, every member's NIC 1/m of it, so all the group's NICs carry the ring. A
// group with one member per node, members unevenly spread, or on a torus or a custom network is
// one ring in group order (ring_phase).
Phase channel_ring_phase(const std::vector<int>& devices, double bytes_per_member, int steps,
                         const Topology& topology);

// The group's members node by node, nodes in order of first appearance, members in group order.
std::vector<std::vector<int>> members_by_node(const std::vector<int>& devices,
                                              const Topology& topology);
// Members per node when every node holds the same number, else nullopt.
std::optional<std::size_t> uniform_members_per_node(const std::vector<std::vector<int>>& nodes);

// Parent of each rank in NCCL's double binary tree (ncclGetDtree, src/graph/trees.cc): tree 0 a
// binary tree on ranks, tree 1 its mirror (even n) or its shift by one (odd n). −1: the root.
std::vector<int> btree_parents(int n, int tree);

std::vector<Phase> double_binary_tree(const std::vector<int>& devices, double bytes,
                                      const Topology& topology);
std::vector<Phase> hierarchical_all_reduce(const std::vector<int>& devices, double bytes,
                                           const Topology& topology);
// The group's members as lines along each torus axis, or nullopt when they do not form a box.
// lines[axis] lists lines of devices ordered by their coordinate on that axis.
std::optional<std::vector<std::vector<std::vector<int>>>> torus_lines(
    const std::vector<int>& devices, const Topology& topology);
std::vector<Phase> torus_collective(CollectiveKind kind, const std::vector<int>& devices,
                                    double bytes, const Topology& topology);

}  // namespace scaleplan::collective_detail
