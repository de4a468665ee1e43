#include "sim/network.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

struct Finishes final : FlowObserver {
  Engine* engine = nullptr;
  std::map<std::uint64_t, SimTime> at;
  void on_flow_done(std::uint64_t token) override { at[token] = engine->now(); }
};

TEST(Network, ThreeFlowsFinishAtHandComputedTimes) {
  // Devices 0 - 1 - 2 in a line: link A joins 0 and 1 (10 GB/s), link B joins 1 and 2 (6 GB/s).
  // Flow 0: 0->1 (A), 24 GB. Flow 1: 0->2 (A, B), 6 GB. Flow 2: 1->2 (B), 9 GB.
  // Max-min rates (7, 3, 3) GB/s. Flow 1 ends at 6/3 = 2 s. By then flow 0 has 24 - 14 = 10 GB
  // left and flow 2 has 9 - 6 = 3 GB left. Alone on their links they run at 10 and 6 GB/s:
  // flow 2 ends at 2 + 3/6 = 2.5 s, flow 0 at 2 + 10/10 = 3 s.
  const Topology topology = Topology::custom(3, 0, {{0, 1, 10e9, 0}, {1, 2, 6e9, 0}});
  Engine engine;
  Network network(engine, topology);
  Finishes f;
  f.engine = &engine;
  network.start_flow(0, 1, 24e9, &f, 0);
  network.start_flow(0, 2, 6e9, &f, 1);
  network.start_flow(1, 2, 9e9, &f, 2);
  engine.run();
  EXPECT_NEAR(to_seconds(f.at[1]), 2.0, 1e-9);
  EXPECT_NEAR(to_seconds(f.at[2]), 2.5, 1e-9);
  EXPECT_NEAR(to_seconds(f.at[0]), 3.0, 1e-9);
  EXPECT_EQ(network.active_flows(), 0u);
  // Every byte crossed its links: link A carried flows 0 and 1.
  double carried = 0;
  for (double b : network.link_bytes())
    carried += b;
  EXPECT_NEAR(carried, 24e9 + 2 * 6e9 + 9e9, 1e3);
}

TEST(Network, FlowToSelfCompletesImmediately) {
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 0}});
  Engine engine;
  Network network(engine, topology);
  Finishes f;
  f.engine = &engine;
  network.start_flow(1, 1, 1e9, &f, 7);
  engine.run();
  EXPECT_EQ(f.at.at(7), 0);
}

TEST(Network, LateFlowSlowsAnEarlierOne) {
  // One 1 GB/s link. Flow 0 (2 GB) starts at 0; flow 1 (0.5 GB) joins at 1 s and they share:
  // flow 1 ends at 1 + 0.5/0.5 = 2 s, flow 0 has 1 - 0.5 = 0.5 GB left, ends at 2.5 s.
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 0}});
  Engine engine;
  Network network(engine, topology);
  Finishes f;
  f.engine = &engine;
  struct Starter final : EventHandler {
    Network* network;
    Finishes* f;
    void on_event(std::uint64_t) override { network->start_flow(0, 1, 0.5e9, f, 1); }
  } starter;
  starter.network = &network;
  starter.f = &f;
  network.start_flow(0, 1, 2e9, &f, 0);
  engine.schedule_at(to_sim_time(1.0), &starter, 0);
  engine.run();
  EXPECT_NEAR(to_seconds(f.at[1]), 2.0, 1e-9);
  EXPECT_NEAR(to_seconds(f.at[0]), 2.5, 1e-9);
}

}  // namespace
}  // namespace scaleplan
