// The flow model's route-search budget and limit count route classes' tables
// (choose_network_models, Topology::route_class_search_work), not devices.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

// Every device of the cluster in one ring all-reduce of 100 MB.
Plan ring_over_every_device(int devices) {
  Plan plan;
  plan.ranks.resize(static_cast<std::size_t>(devices));
  std::vector<int> members;
  for (int r = 0; r < devices; ++r) {
    plan.ranks[static_cast<std::size_t>(r)].rank = r;
    plan.ranks[static_cast<std::size_t>(r)].device = r;
    members.push_back(r);
  }
  const std::uint32_t group = plan.add_group({"dp", members, {}});
  for (auto& rank : plan.ranks) {
    Op op;
    op.kind = OpKind::collective;
    op.stream = Stream::dp_comm;
    op.collective = CollectiveKind::all_reduce;
    op.group = group;
    op.bytes = 1e8;
    op.label = plan.label("all_reduce");
    rank.ops.push_back(op);
  }
  return plan;
}

TEST(NetworkModelChoice, RouteSearchCountsClassesNotDevices) {
  // 16 nodes of 8 devices, a NIC each, on a three-tier fat-tree of radix 8: leaves of 4 NICs,
  // pods of 4 leaves, so 8 pods. The devices of a pod leave their nodes through leaves with the
  // same neighbours (twins): one route class per pod, 8 for the 128 devices of the ring.
  const Topology topology(test::cluster(16, 8, 8, 8));
  const Plan plan = ring_over_every_device(128);
  const RooflineModel compute(test::test_device());
  const double work = topology.route_class_search_work();
  SimulationOptions options;
  options.collective_algorithm = CollectiveAlgorithm::ring;
  options.network_model = NetworkModel::flows;
  options.route_search_limit = 8 * work;
  const SimulationResult flows = simulate(plan, topology, compute, options);
  EXPECT_EQ(flows.routed_sources_if_all_flows, 128u);
  EXPECT_EQ(flows.route_classes_if_all_flows, 8u);
  EXPECT_EQ(flows.alpha_beta_transactions, 0u);

  // One class's search more than the limit allows: refused, with the figures.
  options.route_search_limit = 8 * work - 1;
  try {
    simulate(plan, topology, compute, options);
    ADD_FAILURE() << "not refused";
  } catch (const NetworkModelError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("from 128 devices, whose routes read the hop tables of 8 route "
                           "classes, each a search of " +
                           std::to_string(static_cast<long long>(work)) +
                           " vertices and links of the network"),
              std::string::npos)
        << message;
  }

  // The automatic model keeps the ring as flows within the budget, and takes the fast path
  // beyond it.
  options.network_model = NetworkModel::automatic;
  options.route_search_budget = 8 * work;
  EXPECT_EQ(simulate(plan, topology, compute, options).alpha_beta_transactions, 0u);
  options.route_search_budget = 8 * work - 1;
  const SimulationResult fast = simulate(plan, topology, compute, options);
  EXPECT_EQ(fast.alpha_beta_transactions, 1u);
  EXPECT_EQ(fast.route_classes_if_all_flows, 8u);
}

}  // namespace
}  // namespace scaleplan
