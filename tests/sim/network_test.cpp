#include "sim/engine/network.hpp"

#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

struct Finishes final : FlowObserver {
  Engine* engine = nullptr;
  std::map<std::uint64_t, SimTime> at;
  void on_flow_done(std::uint64_t token) override { at[token] = engine->now(); }
};

// Starts a flow when its event comes.
struct FlowLater final : EventHandler {
  FlowLater(Network* network, int src, int dst, double bytes, FlowObserver* observer,
            std::uint64_t token)
      : network_(network),
        src_(src),
        dst_(dst),
        bytes_(bytes),
        observer_(observer),
        token_(token) {}
  void on_event(std::uint64_t) override {
    network_->start_flow(src_, dst_, bytes_, observer_, token_);
  }
  Network* network_;
  int src_, dst_;
  double bytes_;
  FlowObserver* observer_;
  std::uint64_t token_;
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
  FlowLater starter{&network, 0, 1, 0.5e9, &f, 1};
  network.start_flow(0, 1, 2e9, &f, 0);
  engine.schedule_at(to_sim_time(1.0), &starter, 0);
  engine.run();
  EXPECT_NEAR(to_seconds(f.at[1]), 2.0, 1e-9);
  EXPECT_NEAR(to_seconds(f.at[0]), 2.5, 1e-9);
}

struct RateLog final : LinkRateObserver {
  std::map<LinkId, std::vector<std::pair<double, double>>> changes;  // link: (seconds, bytes/s)
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override {
    changes[link].emplace_back(to_seconds(time), bytes_per_s);
  }
};

TEST(Network, ReportsEachChangeOfALinksRate) {
  // Devices 0 - 1 - 2: link A (0 to 1) 10 GB/s, link B (1 to 2) 6 GB/s. Flow X, 0 -> 2, 12 GB,
  // runs at B's 6 GB/s, which leaves A a third idle. Flow Y, 1 -> 2, 3 GB, joins at 1 s: B is
  // shared 3 + 3, so A drops to 3. Y ends at 1 + 3/3 = 2 s; X, with 12 - 6 - 3 = 3 GB left, is
  // back at 6 GB/s and ends at 2 + 3/6 = 2.5 s. B stays at 6 GB/s throughout.
  const Topology topology = Topology::custom(3, 0, {{0, 1, 10e9, 0}, {1, 2, 6e9, 0}});
  Engine engine;
  Network network(engine, topology);
  RateLog log;
  network.set_link_rate_observer(&log);
  Finishes f;
  f.engine = &engine;
  FlowLater starter{&network, 1, 2, 3e9, &f, 1};
  network.start_flow(0, 2, 12e9, &f, 0);
  engine.schedule_at(to_sim_time(1.0), &starter, 0);
  engine.run();
  const LinkId a = topology.route(0, 1)[0], b = topology.route(1, 2)[0];
  using Changes = std::vector<std::pair<double, double>>;
  const Changes a_expected{{0, 6e9}, {1, 3e9}, {2, 6e9}, {2.5, 0}};
  const Changes b_expected{{0, 6e9}, {2.5, 0}};
  ASSERT_EQ(log.changes[a].size(), a_expected.size());
  for (std::size_t i = 0; i < a_expected.size(); ++i) {
    EXPECT_NEAR(log.changes[a][i].first, a_expected[i].first, 1e-9);
    EXPECT_NEAR(log.changes[a][i].second, a_expected[i].second, 1e-3);
  }
  ASSERT_EQ(log.changes[b].size(), b_expected.size());
  EXPECT_NEAR(log.changes[b][1].first, 2.5, 1e-9);
  EXPECT_EQ(log.changes[b][1].second, 0);
  // Only the two links the flows crossed, one direction each.
  EXPECT_EQ(log.changes.size(), 2u);
}

// Five devices on one switch (vertex 5), each link a different speed, and flows (token: their
// index) in two components: 0, 1 and 2 exchange data among themselves; 3 sends to 4. Device 2
// also sends to itself, and 1 sends nothing to 3: both complete at once without touching a link.
const std::vector<Network::FlowStart> star_flows{{0, 1, 3e9, 0}, {1, 2, 5e9, 1}, {2, 0, 2e9, 2},
                                                 {0, 2, 4e9, 3}, {2, 2, 1e9, 4}, {3, 4, 6e9, 5},
                                                 {1, 3, 0, 6}};

struct StarRun {
  std::map<std::uint64_t, SimTime> finish;  // by token
  std::vector<double> link_bytes;
  std::uint64_t reshares_at_start = 0;
  std::uint64_t events = 0;
};

StarRun run_star(bool batch) {
  const Topology topology = Topology::custom(
      5, 1, {{0, 5, 10e9, 0}, {1, 5, 6e9, 0}, {2, 5, 8e9, 0}, {3, 5, 4e9, 0}, {4, 5, 5e9, 0}});
  Engine engine;
  Network network(engine, topology);
  Finishes f;
  f.engine = &engine;
  if (batch) {
    network.start_flows(star_flows, &f);
  } else {
    for (const Network::FlowStart& s : star_flows)
      network.start_flow(s.src_device, s.dst_device, s.bytes, &f, s.token);
  }
  const std::uint64_t reshares = network.reshares();
  engine.run();
  return {f.at, network.link_bytes(), reshares, engine.events_processed()};
}

TEST(Network, ABatchOfFlowsRunsAsOneByOneWithOneReshare) {
  // Started one by one, each of the five flows that cross links reshares its component; started
  // as a batch, one reshare covers them all. Max-min sharing has one solution, and the solver
  // takes a component's links in LinkId order however many components it solves at once, so
  // every flow gets the same rate to the last bit: the same finishes, in the same order, and the
  // same bytes on every link. The batch never schedules a wakeup that a later start in the
  // batch supersedes, so it processes no more events.
  const StarRun one_by_one = run_star(false);
  const StarRun batch = run_star(true);
  EXPECT_EQ(one_by_one.reshares_at_start, 5u);
  EXPECT_EQ(batch.reshares_at_start, 1u);
  ASSERT_EQ(one_by_one.finish.size(), 7u);
  EXPECT_EQ(batch.finish, one_by_one.finish);
  EXPECT_EQ(batch.link_bytes, one_by_one.link_bytes);
  EXPECT_LE(batch.events, one_by_one.events);
  // The two that cross no link finish at once, the others later.
  EXPECT_EQ(batch.finish.at(4), 0);
  EXPECT_EQ(batch.finish.at(6), 0);
  EXPECT_GT(batch.finish.at(0), 0);
}

}  // namespace
}  // namespace scaleplan
