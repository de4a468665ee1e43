// The planner: on cases small enough to simulate every plan, the search finds the exhaustive
// best; nothing it ranks exceeds memory; the ranking does not depend on the threads.
#include "sim/planner/planner.hpp"

#include <algorithm>
#include <limits>
#include <stop_token>
#include <thread>

#include <gtest/gtest.h>

#include "sim/planner/search_enumeration.hpp"
#include "sim/strategy/strategy_check.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

// A GPT of 8 layers, small enough that a step simulates in milliseconds.
TrainingJob small_gpt(std::int64_t global_batch) {
  TrainingJob job;
  TransformerConfig& m = job.model;
  m.name = "gpt-small";
  m.layers = 8;
  m.hidden = 1024;
  m.ffn_hidden = 4096;
  m.heads = 16;
  m.kv_heads = 16;
  m.vocab = 8192;
  m.seq_len = 1024;
  job.training.global_batch = global_batch;
  job.training.dtype = Dtype::bf16;
  return job;
}

// A Mixtral-like MoE of 4 layers with 8 experts, top-2.
TrainingJob small_moe(std::int64_t global_batch) {
  TrainingJob job = small_gpt(global_batch);
  TransformerConfig& m = job.model;
  m.name = "moe-small";
  m.layers = 4;
  m.gated_mlp = true;
  m.biases = false;
  m.learned_positions = false;
  m.tied_embeddings = false;
  m.kv_heads = 4;
  m.moe.experts = 8;
  m.moe.top_k = 2;
  m.moe.expert_ffn_hidden = 2048;
  return job;
}

struct Fixture {
  ClusterSpec cluster;
  ClusterNetwork network;
  std::unique_ptr<ComputeModel> compute;
  explicit Fixture(ClusterSpec c)
      : cluster(std::move(c)),
        network(prepare_network(cluster, Catalog::builtin())),
        compute(make_compute_model(cluster.device)) {}
};

// Every candidate of the space that keeps the rules, simulated, and the best that fits.
struct Exhaustive {
  std::size_t valid = 0;
  std::size_t fitting = 0;
  double best_step_s = std::numeric_limits<double>::infinity();
};

Exhaustive simulate_all(const Fixture& s, const SearchSpace& space, const TrainingJob& base) {
  Exhaustive out;
  for (const SearchShape& shape : search_shapes(space, s.cluster, base)) {
    for (const SearchVariant& variant : search_variants(space, shape, base)) {
      const TrainingJob job = candidate_job(base, shape, variant);
      if (!check_strategy(s.cluster, job).empty())
        continue;
      ++out.valid;
      const Prediction p = predict({s.cluster, job, *s.compute, s.network});
      if (!p.memory.fits)
        continue;
      ++out.fitting;
      out.best_step_s = std::min(out.best_step_s, p.step_time_s);
    }
  }
  return out;
}

SearchSpace small_space() {
  SearchSpace space;
  space.cp = {1};
  space.micro_batch = {1, 4};
  space.virtual_stages = {2};
  space.recompute = {Recompute::none, Recompute::full};
  space.zero = {0, 1};
  return space;
}

void expect_exhaustive_best(const Fixture& s, const SearchSpace& space, const TrainingJob& base) {
  const Exhaustive all = simulate_all(s, space, base);
  ASSERT_GT(all.fitting, 20u) << "the case should hold more plans than the search simulates";
  const PlanSearch search = search_plans(space, s.cluster, s.network, *s.compute, base);
  ASSERT_FALSE(search.ranked.empty());
  EXPECT_EQ(search.counts.pruned_by_rule + search.counts.pruned_by_memory + search.counts.estimated,
            search.counts.enumerated);
  EXPECT_EQ(search.counts.estimated + search.counts.pruned_by_memory, all.valid);
  // The search simulated 20 plans of the space; the best of them is the best of all.
  EXPECT_LE(search.counts.simulated, 20u + search.counts.simulated_over_memory);
  EXPECT_DOUBLE_EQ(search.ranked.front().step_time_s, all.best_step_s)
      << "exhaustive best " << all.best_step_s << " s over " << all.fitting << " plans";
  for (std::size_t i = 1; i < search.ranked.size(); ++i)
    EXPECT_LE(search.ranked[i - 1].objective, search.ranked[i].objective);
}

TEST(Planner, FindsTheExhaustiveBestOfADenseModelOnOneNode) {
  const Fixture s(test::a100_cluster(1));
  expect_exhaustive_best(s, small_space(), small_gpt(32));
}

TEST(Planner, FindsTheExhaustiveBestOfAnMoeModelOnTwoNodes) {
  ClusterSpec cluster = test::a100_cluster(2);
  cluster.devices_per_node = 4;
  cluster.network.nics_per_node = 4;
  const Fixture s(cluster);
  SearchSpace space = small_space();
  space.recompute = {Recompute::none};
  expect_exhaustive_best(s, space, small_moe(32));
}

// Three layers on four stages: the first stage holds the embedding alone (chunk_layers), and the
// search, which tries a split balanced by layer time for each plan it simulates, leaves such a
// plan's split as it is rather than asking every stage for a layer.
TEST(Planner, SimulatesAPlanWithMoreStagesThanLayers) {
  const Fixture s(test::a100_cluster(1));
  TrainingJob job = small_gpt(32);
  job.model.layers = 3;
  SearchSpace space;
  space.pp = {4};
  space.schedule = {PipelineSchedule::one_f_one_b};
  const PlanSearch search = search_plans(space, s.cluster, s.network, *s.compute, job);
  ASSERT_FALSE(search.ranked.empty());
  EXPECT_EQ(search.ranked.front().job.parallelism.pp, 4);
  EXPECT_TRUE(search.ranked.front().job.parallelism.stage_layers.empty());
}

TEST(Planner, RanksOnlyPlansThatFitWhenMemoryIsTight) {
  ClusterSpec cluster = test::a100_cluster(1);
  // 3 GiB per device: the small model's plans without sharding or recompute run out.
  cluster.device.memory_bytes.value = 3.0 * 1024 * 1024 * 1024;
  const Fixture s(cluster);
  const SearchSpace space = small_space();
  const TrainingJob base = small_gpt(64);
  const PlanSearch search = search_plans(space, s.cluster, s.network, *s.compute, base);
  EXPECT_GT(search.counts.pruned_by_memory, 0u);
  ASSERT_FALSE(search.ranked.empty());
  for (const RankedPlan& plan : search.ranked) {
    ASSERT_TRUE(plan.simulated);
    EXPECT_TRUE(plan.simulated->memory.fits);
    EXPECT_LE(plan.simulated->memory.peak_bytes, cluster.device.memory_bytes.value);
  }
  EXPECT_DOUBLE_EQ(search.ranked.front().step_time_s, simulate_all(s, space, base).best_step_s);
}

TEST(Planner, RankingDoesNotDependOnTheThreads) {
  const Fixture s(test::a100_cluster(1));
  SearchOptions one;
  one.threads = 1;
  one.top_k = 6;
  SearchOptions three = one;
  three.threads = 3;
  const PlanSearch a =
      search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), one);
  const PlanSearch b =
      search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), three);
  ASSERT_EQ(a.ranked.size(), b.ranked.size());
  for (std::size_t i = 0; i < a.ranked.size(); ++i) {
    EXPECT_EQ(a.ranked[i].index, b.ranked[i].index);
    EXPECT_EQ(a.ranked[i].step_time_s, b.ranked[i].step_time_s);
    EXPECT_EQ(a.ranked[i].estimate.step_time_s, b.ranked[i].estimate.step_time_s);
  }
  EXPECT_EQ(a.counts.estimated, b.counts.estimated);
  EXPECT_EQ(a.counts.simulated, b.counts.simulated);
}

TEST(Planner, FixedAxesStayFixed) {
  const Fixture s(test::a100_cluster(1));
  SearchSpace space = small_space();
  fix_axes(space, "tp=2,schedule=1f1b,recompute=full");
  SearchOptions options;
  options.top_k = 4;
  const PlanSearch search =
      search_plans(space, s.cluster, s.network, *s.compute, small_gpt(32), options);
  ASSERT_FALSE(search.ranked.empty());
  for (const RankedPlan& plan : search.ranked) {
    EXPECT_EQ(plan.job.parallelism.tp, 2);
    EXPECT_EQ(plan.job.parallelism.recompute, Recompute::full);
    // Without pipeline stages every schedule is 1F1B's; with them, the one fixed.
    EXPECT_EQ(plan.job.parallelism.schedule, PipelineSchedule::one_f_one_b);
  }
}

TEST(Planner, AStoppedSearchReturnsWhatItHas) {
  const Fixture s(test::a100_cluster(1));
  std::stop_source stop;
  stop.request_stop();
  SearchOptions options;
  options.stop = stop.get_token();
  const PlanSearch search =
      search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), options);
  EXPECT_TRUE(search.cancelled);
  EXPECT_TRUE(search.ranked.empty());
  EXPECT_EQ(search.counts.simulated, 0u);
}

TEST(Planner, ProgressReportsEachPhaseOnTheCallingThread) {
  const Fixture s(test::a100_cluster(1));
  std::vector<SearchPhase> phases;
  const auto caller = std::this_thread::get_id();
  SearchOptions options;
  options.top_k = 3;
  options.threads = 2;
  options.progress = [&](const SearchProgress& p) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    phases.push_back(p.phase);
  };
  search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), options);
  ASSERT_FALSE(phases.empty());
  EXPECT_EQ(phases.front(), SearchPhase::estimating);
  EXPECT_EQ(phases.back(), SearchPhase::done);
  EXPECT_NE(std::find(phases.begin(), phases.end(), SearchPhase::simulating), phases.end());
}

TEST(Planner, ExplainsWhyTheFirstPlanBeatsTheSecond) {
  const Fixture s(test::a100_cluster(1));
  SearchOptions options;
  options.top_k = 2;
  const PlanSearch search =
      search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), options);
  ASSERT_EQ(search.ranked.size(), 2u);
  const std::string why = explain_difference(search.ranked[0], search.ranked[1]);
  EXPECT_NE(why.find("faster per step than plan 2"), std::string::npos) << why;
  EXPECT_NE(why.find("they differ in"), std::string::npos) << why;
}

TEST(Planner, ExplainsATieAsATieAndAGapByThePartsThatGainAndCostTheMost) {
  RankedPlan first;
  first.job = small_gpt(32);
  first.job.parallelism.tp = 2;
  first.step_time_s = 1.0000;
  first.estimate.compute_s = 0.9;
  RankedPlan second = first;
  second.job.parallelism.dp = 2;
  // 0.02 % apart: a tie, with the settings that differ.
  second.step_time_s = 1.0002;
  EXPECT_EQ(explain_difference(first, second),
            "plans 1 and 2 take the same time per step to within 0.05 % (1.0000 s against "
            "1.0002 s); they differ in dp 1 against 2");
  // 1 % apart: the part that gains plan 1 the most.
  second.step_time_s = 1.01;
  second.estimate.exposed_comm_s = 0.01;
  EXPECT_EQ(explain_difference(first, second),
            "plan 1 is 0.010 s (1.0 %) faster per step than plan 2: its exposed communication is "
            "0.010 s shorter (0.000 s against 0.010 s); they differ in dp 1 against 2");
  // Faster in spite of more exposed communication: the compute it gains is named first, the
  // communication it loses after (the part that differs most is the one against it).
  first.estimate.exposed_comm_s = 2.0;
  first.estimate.compute_s = 0.5;
  second.estimate.exposed_comm_s = 0.2;
  second.estimate.compute_s = 2.3;
  second.step_time_s = 2.5;
  first.step_time_s = 2.49;
  EXPECT_EQ(explain_difference(first, second),
            "plan 1 is 0.010 s (0.4 %) faster per step than plan 2: its compute is 1.800 s "
            "shorter (0.500 s against 2.300 s), though its exposed communication is 1.800 s "
            "longer (2.000 s against 0.200 s); they differ in dp 1 against 2");
}

TEST(Planner, CostNeedsAPrice) {
  ClusterSpec cluster = test::a100_cluster(1);
  cluster.device.price_usd_per_hour.reset();
  const Fixture s(cluster);
  SearchOptions options;
  options.objective = PlanObjective::cost;
  EXPECT_THROW(
      search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), options),
      std::invalid_argument);
  options.usd_per_device_hour = 2.0;
  options.top_k = 1;
  const PlanSearch search =
      search_plans(small_space(), s.cluster, s.network, *s.compute, small_gpt(32), options);
  ASSERT_EQ(search.ranked.size(), 1u);
  // 8 devices at 2 USD an hour for one step.
  const RankedPlan& best = search.ranked.front();
  EXPECT_DOUBLE_EQ(best.cost_usd, best.step_time_s / 3600 * 2.0 * 8);
  EXPECT_DOUBLE_EQ(best.objective, best.cost_usd);
}

}  // namespace
}  // namespace scaleplan
