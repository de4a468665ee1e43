#include "sim/capacity/goodput.hpp"

#include <cmath>

#include <gtest/gtest.h>

namespace scaleplan::capacity {
namespace {

TEST(Goodput, Llama3RatesGiveBackItsInterruptions) {
  // 16,384 GPUs in 2,048 nodes: 256 device and 163 node interruptions in 54 days, 419 in all,
  // so one every 54 · 24 · 3600 / 419 = 11,135.08 s.
  EXPECT_NEAR(job_mtbf_s(16384, 2048, llama3_failure_rates()), 1296.0 * 3600 / 419, 1e-6);
  // Half the cluster fails half as often.
  EXPECT_NEAR(job_mtbf_s(8192, 1024, llama3_failure_rates()), 2 * 1296.0 * 3600 / 419, 1e-6);
}

TEST(Goodput, NothingFailsWithoutDevicesOrNodes) {
  EXPECT_TRUE(std::isinf(job_mtbf_s(0, 0, llama3_failure_rates())));
}

TEST(Goodput, DalyRefinesYoung) {
  // δ = 60 s, M = 10 h: Young sqrt(2 · 60 · 36000) = 2078.46 s; Daly with x = δ/2M = 1/1200:
  // 2078.46 · (1 + sqrt(x)/3 + x/9) − 60 = 2038.65 s.
  EXPECT_NEAR(young_checkpoint_interval_s(60, 36000), 2078.4610, 1e-3);
  EXPECT_NEAR(optimal_checkpoint_interval_s(60, 36000), 2038.6534, 1e-3);
  // A checkpoint longer than twice the MTBF: checkpoint every MTBF.
  EXPECT_DOUBLE_EQ(optimal_checkpoint_interval_s(500, 200), 200);
}

TEST(Goodput, WallTimeFollowsDalysModel) {
  // Without failures only the checkpoints cost: 1000 s of work in steps of 100 s, each followed
  // by a 10 s checkpoint, is 1100 s.
  EXPECT_DOUBLE_EQ(expected_wall_time_s(1000, 100, 10, 30, INFINITY), 1100);
  // M = 10,000 s, R = 100 s, τ = 1000 s, δ = 50 s, T_s = 1e5 s:
  // 10,000 · e^0.01 · (e^0.105 − 1) · 100 = 111,823.27 s.
  EXPECT_NEAR(expected_wall_time_s(1e5, 1000, 50, 100, 10000), 111823.2705, 1e-3);
}

TEST(Goodput, TheOptimumIntervalMinimisesTheWallTime) {
  const double write = 120, restart = 900, mtbf = 4 * 3600.0, solve = 30 * 86400.0;
  const double best = optimal_checkpoint_interval_s(write, mtbf);
  const double at_best = expected_wall_time_s(solve, best, write, restart, mtbf);
  for (double factor : {0.5, 0.8, 0.95, 1.05, 1.25, 2.0})
    EXPECT_LT(at_best, expected_wall_time_s(solve, best * factor, write, restart, mtbf)) << factor;
}

TEST(Goodput, SummaryOfARun) {
  GoodputInputs in;
  in.solve_s = 30 * 86400.0;
  in.devices = 2048;
  in.nodes = 256;
  in.checkpoint_bytes = 1e12;
  in.failures = llama3_failure_rates();
  in.checkpoint = {2e12, 1e12, 600};
  const Goodput g = goodput(in);
  // 2048 / 82,944 + 256 / 16,283.4 = 0.040413 failures per hour: MTBF 24.744 h.
  EXPECT_NEAR(g.job_mtbf_s / 3600, 1 / (2048 / 82944.0 + 256 / (2048.0 * 1296 / 163)), 1e-9);
  EXPECT_DOUBLE_EQ(g.checkpoint_write_s, 0.5);
  EXPECT_DOUBLE_EQ(g.restart_s, 601);  // re-launch plus reading 1 TB at 1 TB/s
  EXPECT_DOUBLE_EQ(g.checkpoint_interval_s, optimal_checkpoint_interval_s(0.5, g.job_mtbf_s));
  EXPECT_GT(g.wall_s, in.solve_s);
  EXPECT_DOUBLE_EQ(g.goodput, in.solve_s / g.wall_s);
  EXPECT_DOUBLE_EQ(g.expected_failures, g.wall_s / g.job_mtbf_s);
  // About one failure a day over a month, each costing the restart and half an interval: a few
  // percent of the time.
  EXPECT_GT(g.goodput, 0.95);
  EXPECT_LT(g.goodput, 0.999);
}

TEST(Goodput, DataPipelineBindsWhenSlowerThanCompute) {
  // Storage: 1 GB/s of 4-byte tokens is 2.5e8 tokens/s; hosts: 100 nodes of 1e6 tokens/s.
  const DataPipeline storage_only{1e9, 4, 0};
  const DataRate fast = data_rate(1e8, 100, storage_only);
  EXPECT_EQ(fast.bottleneck, DataBottleneck::none);
  EXPECT_DOUBLE_EQ(fast.tokens_per_s, 1e8);
  const DataRate slow = data_rate(3e8, 100, storage_only);
  EXPECT_EQ(slow.bottleneck, DataBottleneck::storage_read);
  EXPECT_DOUBLE_EQ(slow.tokens_per_s, 2.5e8);
  const DataRate hosts = data_rate(3e8, 100, DataPipeline{1e9, 4, 1e6});
  EXPECT_EQ(hosts.bottleneck, DataBottleneck::host_preprocessing);
  EXPECT_DOUBLE_EQ(hosts.tokens_per_s, 1e8);
  // No limits given: compute binds.
  EXPECT_EQ(data_rate(3e8, 100, DataPipeline{}).bottleneck, DataBottleneck::none);
}

}  // namespace
}  // namespace scaleplan::capacity
