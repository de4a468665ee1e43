// An expert-parallel all-to-all under each dispatcher and routing: the bytes between nodes (RDMA)
// and inside them (NVLink), worked out by hand on 2 NVSwitch nodes of 4 devices, 16 experts (2 a
// device), top 4, a member's tokens once T = 1 MB (its plain send buffer 4 MB).
#include "sim/collective/expert_dispatch.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

constexpr double token_bytes = 1e6;
constexpr double send_buffer_bytes = 4 * token_bytes;

std::vector<int> first_devices(int n) {
  std::vector<int> devices(static_cast<std::size_t>(n));
  std::iota(devices.begin(), devices.end(), 0);
  return devices;
}

ExpertDispatch deepep(ExpertRoutingKind kind, std::int64_t groups = 1,
                      std::int64_t group_topk = 1) {
  return {MoeDispatcher::deepep, {kind, 16, 4, groups, group_topk}, 4.0};
}

struct TierBytes {
  double across = 0;  // between nodes
  double inside = 0;  // inside a node
  int across_transfers = 0;
  int inside_transfers = 0;
};

// `on_rails`: every transfer between nodes goes to the sender's local index.
TierBytes tiers(const std::vector<Phase>& phases, const Topology& topology, bool on_rails = true) {
  TierBytes t;
  for (const Phase& phase : phases) {
    for (const Transfer& x : phase.transfers) {
      if (topology.node_of(x.src_device) == topology.node_of(x.dst_device)) {
        t.inside += x.bytes;
        ++t.inside_transfers;
      } else {
        t.across += x.bytes;
        ++t.across_transfers;
        if (on_rails) {
          EXPECT_EQ(x.src_device % 4, x.dst_device % 4) << "RDMA to the sender's local index";
        }
      }
    }
  }
  return t;
}

TEST(ExpertDispatch, PlainAllToAllSendsACopyPerExpertWhateverTheRouting) {
  // A direct all-to-all sends S/8 = 0.5 MB from each of 8 members to each other one: 4 of them
  // on the other node, 8 · 4 · 0.5 MB = 16 MB between the nodes (PXN relays them over NVLink to
  // the sender's node member of the destination's index first: 8 · 3 · 0.5 MB inside too, plus
  // 8 · 3 · 0.5 MB to the node's own members: 24 MB).
  const Topology topology(test::cluster(2, 4, 4));
  const TierBytes t =
      tiers(expand_collective(CollectiveKind::all_to_all, CollectiveAlgorithm::direct,
                              first_devices(8), send_buffer_bytes, topology),
            topology);
  EXPECT_DOUBLE_EQ(t.across, 16e6);
  EXPECT_DOUBLE_EQ(t.inside, 24e6);
}

TEST(ExpertDispatch, DeepEpSendsOncePerNodeThenOncePerDevice) {
  const Topology topology(test::cluster(2, 4, 4));
  struct Case {
    ExpertDispatch dispatch;
    double node_reach, member_reach;
  };
  // Reaches from models/moe_routing_test.cpp's worked cases (a member holds 2 experts, a node
  // 8): uniform 1 − 11/20 and 1 − 1/26; group-limited (4 blocks of 4, 2 a token) 1 − 7/12 and
  // 1 − 1/6; round-robin (4 consecutive experts a token: 2 members of one node) 1/4 and 1/2.
  const Case cases[] = {
      {deepep(ExpertRoutingKind::uniform), 25.0 / 26, 9.0 / 20},
      {deepep(ExpertRoutingKind::group_limited, 4, 2), 5.0 / 6, 5.0 / 12},
      {deepep(ExpertRoutingKind::round_robin), 0.5, 0.25},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.dispatch.routing.kind)));
    const TierBytes t =
        tiers(expand_expert_dispatch(c.dispatch, first_devices(8), send_buffer_bytes, topology),
              topology);
    // RDMA: each of 8 members sends T · reach(node) to its index on the other node: 8 sends.
    EXPECT_EQ(t.across_transfers, 8);
    EXPECT_DOUBLE_EQ(t.across, 8 * token_bytes * c.node_reach);
    // NVLink: each member forwards to the 3 others of its node the tokens of its node's member
    // of its index and its own, 2 · T · reach(member) each: 2 nodes · 4 · 3 = 24 sends.
    EXPECT_EQ(t.inside_transfers, 24);
    EXPECT_DOUBLE_EQ(t.inside, 24 * 2 * token_bytes * c.member_reach);
  }
  // Round-robin's RDMA: 8 · 0.5 MB = 4 MB, a quarter of the plain all-to-all's 16 MB.
}

TEST(ExpertDispatch, OneNodeIsNvlinkAloneOncePerDevice) {
  // 4 members on one node, 16 experts (4 each), uniform top 4: a member is missed with C(12, 4) /
  // C(16, 4) = 495 / 1820 = 99/364; each member sends T · 265/364 to each of the 3 others.
  const Topology topology(test::cluster(1, 4, 1));
  const TierBytes t = tiers(expand_expert_dispatch(deepep(ExpertRoutingKind::uniform),
                                                   first_devices(4), send_buffer_bytes, topology),
                            topology);
  EXPECT_EQ(t.across_transfers, 0);
  EXPECT_EQ(t.inside_transfers, 12);
  EXPECT_DOUBLE_EQ(t.inside, 12 * token_bytes * 265.0 / 364);
}

TEST(ExpertDispatch, MembersUnevenlySpreadSendOncePerDeviceDirectly) {
  // 5 members: 4 on node 0, 1 on node 1 (16 experts do not split over 5: use 20 and top 4, 4
  // each, uniform: missed C(16, 4) / C(20, 4) = 1820 / 4845 = 364/969): no relay, each member
  // sends T · 605/969 to each of the other 4; 4 + 4 sends cross the nodes.
  const Topology topology(test::cluster(2, 4, 4));
  ExpertDispatch d = deepep(ExpertRoutingKind::uniform);
  d.routing.experts = 20;
  const TierBytes t = tiers(expand_expert_dispatch(d, {0, 1, 2, 3, 4}, send_buffer_bytes, topology),
                            topology, false);
  EXPECT_EQ(t.across_transfers + t.inside_transfers, 20);
  EXPECT_DOUBLE_EQ(t.across + t.inside, 20 * token_bytes * 605.0 / 969);
}

TEST(ExpertDispatch, MembersThatDoNotDivideTheExpertsAreRefused) {
  const Topology topology(test::cluster(2, 4, 4));
  EXPECT_THROW(expand_expert_dispatch(deepep(ExpertRoutingKind::uniform), first_devices(6),
                                      send_buffer_bytes, topology),
               std::invalid_argument);
}

TEST(ExpertDispatch, TheSimulatorCarriesAGroupsAllToAllByItsDispatcher) {
  // One all-to-all of 4 MB on 8 members over 2 nodes, each node with 4 NICs: round-robin under
  // DeepEP puts T / 2 = 0.5 MB on each member's NIC, the plain all-to-all 4 · 0.5 MB = 2 MB (it
  // leaves through the NICs of the destination's index after PXN): the NIC-bound time shrinks
  // by about 4 (latencies and NVLink aside).
  const Topology topology(test::cluster(2, 4, 4));
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 0;
  Plan plain =
      test::one_collective(first_devices(8), CollectiveKind::all_to_all, send_buffer_bytes);
  Plan relayed = plain;
  relayed.groups[0].expert_dispatch = deepep(ExpertRoutingKind::round_robin);
  const double plain_s = simulate(plain, topology, compute, options).step_time_s;
  const double relayed_s = simulate(relayed, topology, compute, options).step_time_s;
  EXPECT_NEAR(plain_s / relayed_s, 4.0, 0.4);
}

}  // namespace
}  // namespace scaleplan
