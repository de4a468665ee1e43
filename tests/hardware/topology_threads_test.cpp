// One Topology shared by threads (the contract in hardware/topology.hpp): threads that route the
// same and different pairs at once, each in its own order, get what one thread gets from a
// topology of its own. Run under ThreadSanitizer by the tsan preset (label threads).
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

using test::cluster;

// What the const methods answer for one pair, flattened for comparison.
struct Answers {
  std::vector<LinkId> route;
  double route_latency_s = 0;
  std::vector<double> path;  // endpoint_path: bandwidth, latency, ports, bundles
  std::vector<LinkId> links;
  bool operator==(const Answers&) const = default;
};

Answers ask(const Topology& t, int src, int dst) {
  Answers a;
  a.route = t.route(src, dst);
  a.route_latency_s = t.route_latency_s(src, dst);
  const Topology::EndpointPath p = t.endpoint_path(src, dst);
  a.path = {p.bandwidth_bytes_per_s,
            p.latency_s,
            static_cast<double>(p.egress_port),
            static_cast<double>(p.ingress_port),
            p.routed ? 1.0 : 0.0,
            static_cast<double>(p.bundle_count)};
  for (int b = 0; b < p.bundle_count; ++b) {
    a.path.push_back(static_cast<double>(p.bundles[static_cast<std::size_t>(b)].port));
    a.path.push_back(p.bundles[static_cast<std::size_t>(b)].bandwidth_bytes_per_s);
  }
  t.endpoint_links(src, dst, a.links);
  return a;
}

// Each device to its neighbours in a ring, in its node, across the cluster and to its mirror:
// pairs inside a node and between nodes, under one leaf and across spines.
std::vector<std::pair<int, int>> pairs_of(int devices) {
  std::vector<std::pair<int, int>> pairs;
  for (int s = 0; s < devices; ++s) {
    for (int d : {s + 1, s + 3, s + 8, s + devices / 2, devices - 1 - s})
      pairs.emplace_back(s, d % devices);
  }
  return pairs;
}

// `threads` threads ask about every pair of `pairs` on one topology built from `make`, all at
// once, thread k starting at the k-th share of the list and wrapping around; each must get what
// a thread alone gets from a topology of its own.
template <class Make>
void expect_shared_answers_match_sequential(Make make,
                                            const std::vector<std::pair<int, int>>& pairs,
                                            int threads) {
  const Topology alone = make();
  std::vector<Answers> expected;
  for (const auto& [s, d] : pairs)
    expected.push_back(ask(alone, s, d));

  const Topology shared = make();
  std::vector<std::vector<Answers>> got(static_cast<std::size_t>(threads),
                                        std::vector<Answers>(pairs.size()));
  std::latch start(threads);
  std::vector<std::thread> workers;
  for (int k = 0; k < threads; ++k) {
    workers.emplace_back([&, k] {
      start.arrive_and_wait();
      const std::size_t first = pairs.size() * static_cast<std::size_t>(k) / threads;
      for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::size_t j = (first + i) % pairs.size();
        got[static_cast<std::size_t>(k)][j] = ask(shared, pairs[j].first, pairs[j].second);
      }
    });
  }
  for (std::thread& w : workers)
    w.join();
  for (int k = 0; k < threads; ++k) {
    for (std::size_t j = 0; j < pairs.size(); ++j) {
      EXPECT_TRUE(got[static_cast<std::size_t>(k)][j] == expected[j])
          << "thread " << k << ", " << pairs[j].first << " -> " << pairs[j].second;
    }
  }
}

TEST(TopologyThreads, SharedFatTreeAnswersAsOneThreadDoes) {
  // 16 nodes × 8 GPUs, 8 NICs each, on radix-16 switches: three tiers, ECMP at every branch.
  expect_shared_answers_match_sequential([] { return Topology(cluster(16, 8, 8, 16)); },
                                         pairs_of(128), 4);
}

TEST(TopologyThreads, SharedTorusAnswersAsOneThreadDoes) {
  // Devices forward on a torus: endpoint_path and endpoint_links take whole routes.
  expect_shared_answers_match_sequential(
      [] {
        return Topology(test::torus_cluster({4, 4, 4}, 4, 45e9));
      },
      pairs_of(64), 4);
}

}  // namespace
}  // namespace scaleplan
