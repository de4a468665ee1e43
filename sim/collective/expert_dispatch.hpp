// An expert-parallel all-to-all (an MoE dispatch or combine, forward or backward) as a dispatcher
// other than a plain all-to-all carries it (ExpertDispatch, sim/plan/plan.hpp): the transfers
// follow from where the router sends a token's experts (models/moe_routing.hpp).
#pragma once

#include <vector>

#include "hardware/topology.hpp"
#include "sim/collective/collective.hpp"
#include "sim/plan/plan.hpp"

namespace scaleplan {

// The chance that a token reaches each member of the group (holds one of its top_k experts;
// member j holds the j-th block of experts / members), and that it reaches each member's node
// (any member of that node holds one), in group order.
struct ExpertReach {
  std::vector<double> member;
  std::vector<double> node_of_member;
};
ExpertReach expert_reach(const ExpertRouting& routing, const std::vector<int>& devices,
                         const Topology& topology);

// The transfers of one expert-parallel all-to-all of `bytes` per member (its send buffer as a
// plain all-to-all would hold it, dispatch.copies_per_token copies of each of its tokens), so
// T = bytes / copies_per_token is a member's tokens once, in one phase (DeepEP streams the tiers
// at once, in chunks, on separate warps: internode.cu's RDMA senders, forwarders and NVLink
// receivers).
// deepep on NVSwitch nodes that each hold the same number of members, N nodes: every member s
//   sends to the member with its own index among the group's members of every other node J
//   T · reach(J) (one copy per token and destination node, RDMA: the rank with the sender's local
//   index, internode.cu's kRDMASender), and every member f forwards to every other member q of
//   its node N · T · reach(q) (one copy per token and destination rank, NVLink, of the tokens of
//   the N members with f's index, its own included: kRDMAAndNVLForwarder). One node: the NVLink
//   part alone (intranode.cu). Members unevenly spread over nodes, or nodes without NVSwitch:
//   every member sends to every other member q T · reach(q) directly.
// The combine runs the same transfers the other way; with every node of the group as likely to
// be reached (the routings of models/moe_routing.hpp on nodes with the same number of members)
// the reversed transfers load each link as these do, so both are priced by these. Throws
// std::invalid_argument where the members do not divide the experts.
std::vector<Phase> expand_expert_dispatch(const ExpertDispatch& dispatch,
                                          const std::vector<int>& devices, double bytes,
                                          const Topology& topology);

}  // namespace scaleplan
