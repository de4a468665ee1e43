// Several threads predicting different plans on one shared network (one Topology, one compute
// model) through the value entry point get exactly what sequential predictions get. Run under
// ThreadSanitizer by the tsan preset (label threads).
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "sim/report/prediction.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

struct Case {
  TrainingJob job;
  RunSettings settings;
};

RunSettings settings_of(RankScope ranks, NetworkModel model) {
  RunSettings s;
  s.ranks = ranks;
  s.network_model = model;
  return s;
}

// Plans of GPT-3 1.3B on 32 A100s that use the network differently: tensor parallel inside the
// nodes, pipelines across them, an interleaved schedule, data parallel over every node; as flows,
// on the fast path and chosen automatically, one replica listed or every rank.
std::vector<Case> cases() {
  using test::gpt3_1_3b_job;
  const auto one = RankScope::one_replica;
  return {
      {gpt3_1_3b_job(2, 2, 8, 32), settings_of(one, NetworkModel::flows)},
      {gpt3_1_3b_job(8, 1, 4, 32), settings_of(one, NetworkModel::automatic)},
      {gpt3_1_3b_job(1, 4, 8, 32, PipelineSchedule::interleaved_1f1b, 2),
       settings_of(RankScope::all_ranks, NetworkModel::flows)},
      {gpt3_1_3b_job(4, 2, 4, 32), settings_of(one, NetworkModel::alpha_beta)},
      {gpt3_1_3b_job(1, 1, 32, 64), settings_of(RankScope::all_ranks, NetworkModel::flows)},
      {gpt3_1_3b_job(2, 4, 4, 16), settings_of(RankScope::all_ranks, NetworkModel::automatic)},
  };
}

TEST(PredictionThreads, SharedNetworkPredictsAsSequentialRunsDo) {
  const Catalog& catalog = Catalog::builtin();
  const ClusterSpec cluster = test::a100_cluster(4);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  const std::vector<Case> all = cases();

  std::vector<std::string> expected;
  {
    const ClusterNetwork network = prepare_network(cluster, catalog);
    for (const Case& c : all)
      expected.push_back(format_json(predict({cluster, c.job, *compute, network, c.settings})));
  }

  // Each thread predicts every case, thread k from the k-th on, so that at any time several
  // threads route the same pairs and different ones on the same, cold, network.
  const ClusterNetwork shared = prepare_network(cluster, catalog);
  constexpr int threads = 4;
  std::vector<std::vector<std::string>> got(threads, std::vector<std::string>(all.size()));
  std::latch start(threads);
  std::vector<std::thread> workers;
  for (int k = 0; k < threads; ++k) {
    workers.emplace_back([&, k] {
      start.arrive_and_wait();
      for (std::size_t i = 0; i < all.size(); ++i) {
        const std::size_t j = (static_cast<std::size_t>(k) + i) % all.size();
        got[k][j] = format_json(predict({cluster, all[j].job, *compute, shared, all[j].settings}));
      }
    });
  }
  for (std::thread& w : workers)
    w.join();
  for (int k = 0; k < threads; ++k) {
    for (std::size_t j = 0; j < all.size(); ++j)
      EXPECT_TRUE(got[k][j] == expected[j]) << "thread " << k << ", case " << j;
  }
  // The cases differ: a test of equal strings would pass on any constant.
  for (std::size_t j = 1; j < all.size(); ++j)
    EXPECT_NE(expected[j], expected[0]);
}

}  // namespace
}  // namespace scaleplan
