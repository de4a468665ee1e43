// The alpha-beta fast path's ports shared by processor sharing, and the fast path against the
// flow model on the shipped scenarios.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/alpha_beta_transfer_model.hpp"
#include "sim/simulate/comm_routes.hpp"
#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

Op collective_op(Plan& plan, std::uint32_t group, CollectiveKind kind, double bytes) {
  Op op;
  op.kind = OpKind::collective;
  op.stream = Stream::dp_comm;
  op.collective = kind;
  op.group = group;
  op.bytes = bytes;
  op.label = plan.label(std::string(to_string(kind)));
  return op;
}

TEST(AlphaBetaPorts, ASmallSendBehindALargeReduceScatterFinishesEarly) {
  // Two nodes of 8 test devices, a NIC each at 25 GB/s behind 32 GB/s host links. Rank 0
  // (device 0) reduce-scatters 1.8 GB with rank 1 (device 8, the other node): a ring of one
  // member per node, each sending (n−1)/n · S = 0.9 GB through its NIC, 0.9e9 / 25e9 = 36 ms
  // alone. Rank 2 (device 9) first all-reduces 1 MB with rank 3 (device 10) inside node 1, then
  // receives 6 MB from rank 0, so the message reaches node 0's NIC 0 after the reduce-scatter
  // has started there: 6e6 / 25e9 = 0.24 ms alone.
  //
  // Shared by processor sharing, both use all of NIC 0's egress (a share of 1 each): each runs
  // at half its speed while both run, so the message arrives 2 × 0.24 = 0.48 ms after it
  // starts, plus a few microseconds of latency and the all-reduce before it. Queued first come
  // first served it would wait out the reduce-scatter's 36 ms backlog first.
  const Topology topology(test::cluster(2, 8, 8));
  Plan plan;
  const std::vector<int> devices = {0, 8, 9, 10};
  plan.ranks.resize(devices.size());
  for (std::size_t r = 0; r < devices.size(); ++r) {
    plan.ranks[r].rank = static_cast<int>(r);
    plan.ranks[r].device = devices[r];
  }
  const std::uint32_t scatter = plan.add_group({"dp", {0, 1}, {}});
  const std::uint32_t local = plan.add_group({"local", {2, 3}, {}});
  const double big = 1.8e9, small = 6e6;
  plan.ranks[0].ops.push_back(collective_op(plan, scatter, CollectiveKind::reduce_scatter, big));
  plan.ranks[1].ops.push_back(collective_op(plan, scatter, CollectiveKind::reduce_scatter, big));
  Op send;
  send.kind = OpKind::send;
  send.stream = Stream::pp_send_next;
  send.peer = 2;
  send.bytes = small;
  send.label = plan.label("send");
  plan.ranks[0].ops.push_back(send);
  plan.ranks[2].ops.push_back(collective_op(plan, local, CollectiveKind::all_reduce, 1e6));
  plan.ranks[3].ops.push_back(collective_op(plan, local, CollectiveKind::all_reduce, 1e6));
  Op recv = send;
  recv.kind = OpKind::recv;
  recv.stream = Stream::pp_recv_prev;
  recv.peer = 0;
  recv.deps = {0};
  plan.ranks[2].ops.push_back(recv);

  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 3e-6;
  options.network_model = NetworkModel::alpha_beta;
  const SimulationResult fast = simulate(plan, topology, compute, options);
  const double alone_s = small / 25e9;
  const double message_end_s = fast.ranks[2].finish_s;
  EXPECT_GT(message_end_s, 2 * alone_s);
  EXPECT_LT(message_end_s, 2 * alone_s + 50e-6);
  // The reduce-scatter gives up the port time the message took: it ends after 36 ms + 0.24 ms.
  EXPECT_NEAR(fast.ranks[0].finish_s, 0.9e9 / 25e9 + alone_s, 50e-6);
  // The flows share NIC 0's link the same way.
  options.network_model = NetworkModel::flows;
  const SimulationResult flows = simulate(plan, topology, compute, options);
  EXPECT_NEAR(flows.ranks[2].finish_s, message_end_s, 0.05 * message_end_s);
  EXPECT_NEAR(flows.ranks[0].finish_s, fast.ranks[0].finish_s, 0.01 * fast.ranks[0].finish_s);
}

// Records when each transaction arrives.
struct Arrivals final : TransactionDoneHandler {
  const Engine* engine = nullptr;
  std::vector<SimTime> at;
  void on_transaction_done(std::uint32_t transaction) override {
    at.resize(std::max<std::size_t>(at.size(), transaction + 1), -1);
    at[transaction] = engine->now();
  }
};

TEST(AlphaBetaPorts, TransfersStartingAndEndingTogetherAreSharedOnceAnInstant) {
  // Two nodes of 8 test devices and one 25 GB/s NIC each: device i of node 0 sends 25 MB to
  // device i of node 1, all 8 at time 0. Each message alone takes 25e6 / 25e9 = 1 ms of both
  // NICs (a share of 1 of each); sharing them by processor sharing, each runs at 1/8 of its
  // speed, so all 8 end their bandwidth parts together at 8 ms and arrive after the same latency.
  // The starts (7 of them at a contended port) are shared out once when instant 0 ends, and the
  // 8 ends once when instant 8 ms ends: 2 reshares, where one per change at a contended port
  // would take about 14.
  const Topology topology(test::cluster(2, 8, 1));
  Plan plan;
  plan.ranks.resize(16);
  for (int r = 0; r < 16; ++r) {
    plan.ranks[static_cast<std::size_t>(r)].rank = r;
    plan.ranks[static_cast<std::size_t>(r)].device = r;
  }
  CommRoutes routes(plan, topology, 3e-6, std::nullopt);
  Engine engine;
  Arrivals arrivals;
  arrivals.engine = &engine;
  AlphaBetaTransferModel model(engine, topology, routes, 3e-6, nullptr, arrivals);
  const double bytes = 25e6;
  for (std::uint32_t i = 0; i < 8; ++i)
    model.start(i, routes.message(static_cast<int>(i), static_cast<int>(i) + 8, bytes));
  engine.run();
  ASSERT_EQ(arrivals.at.size(), 8u);
  const double alone_s = bytes / 25e9;
  for (const SimTime at : arrivals.at) {
    EXPECT_EQ(at, arrivals.at[0]);
    // 8 ms of shared NICs, then the message's latency (a few microseconds).
    EXPECT_GT(to_seconds(at), 8 * alone_s);
    EXPECT_LT(to_seconds(at), 8 * alone_s + 20e-6);
  }
  EXPECT_EQ(model.reshares(), 2u);
  EXPECT_EQ(model.transactions(), 8u);
}

// The shipped scenarios whose every collective and message fit in the flow budget, simulated
// once with flows and once on the fast path. The two differ only where they model contention
// differently: the fast path spreads each collective's port use over its whole bandwidth part
// (the phases of a hierarchical all-reduce smeared into one), shares ports rather than links, and
// sees the fabric between leaves only as uplink bundles. In these scenarios communication mostly
// hides behind compute, so those differences reach the step only through what is exposed; 3 %
// leaves room for that without hiding a port that queues instead of sharing (which costs the
// 2× seen on the 10,752-GPU MLPerf run).
TEST(AlphaBetaPorts, AgreesWithFlowsOnTheShippedScenariosWithinTheFlowBudget) {
  const std::filesystem::path root = SCALEPLAN_SOURCE_DIR;
  std::vector<std::filesystem::path> files;
  for (const auto& dir : {root / "scenarios", root / "bench/scenarios/planner-quality"}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() == ".yaml")
        files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u);
  int compared = 0;
  for (const auto& file : files) {
    const Scenario scenario = load_scenario(file, Catalog::builtin());
    const PreparedRun flows_run =
        prepare_run(scenario, Catalog::builtin(), {RankScope::one_replica, NetworkModel::flows});
    Prediction flows;
    try {
      flows = predict(scenario, flows_run);
    } catch (const NetworkModelError&) {
      continue;  // over the flow budget
    }
    const PreparedRun fast_run = prepare_run(scenario, Catalog::builtin(),
                                             {RankScope::one_replica, NetworkModel::alpha_beta});
    const Prediction fast = predict(scenario, fast_run);
    EXPECT_NEAR(fast.step_time_s, flows.step_time_s, 0.03 * flows.step_time_s) << file;
    ++compared;
  }
  EXPECT_GE(compared, 10);
}

}  // namespace
}  // namespace scaleplan
