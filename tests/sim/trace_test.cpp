// The Chrome/Perfetto trace of a Timeline: counter tracks of the busiest links' rates.
#include "sim/timeline/chrome_trace.hpp"

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/timeline_recorder.hpp"

namespace scaleplan {
namespace {

nlohmann::json written(const Timeline& timeline, const ChromeTraceOptions& options) {
  std::ostringstream out;
  write_chrome_trace(out, timeline, options);
  return nlohmann::json::parse(out.str());
}

TEST(ChromeTrace, BusiestLinksHaveCounterTracksOfTheirRate) {
  // Two nodes of one A100 and one 200 Gb/s NIC each, pure data parallelism, gradients reduced
  // after the backward pass. The 2-rank ring sends each rank's gradients to the other through
  // its NIC: the NIC's network link (25 GB/s at the catalog's 0.94) is the bottleneck, slower
  // than the 31.5 GB/s PCIe link in front of it, so it runs full for the whole all-reduce. The
  // alpha-beta fast path puts the same bytes on the same links, spread over its estimate, which
  // adds the steps' latency to the transfer time: a rate just under the bandwidth.
  const Scenario s = parse_scenario(R"(name: t
cluster:
  device: A100-SXM4-80GB
  nodes: 2
  devices_per_node: 1
  network:
    link_bandwidth_gbps: 200
    nics_per_node: 1
model:
  preset: gpt3-1.3b
  layers: 2
training:
  global_batch: 2
parallelism:
  dp: 2
  overlap_grad_reduce: false
)",
                                    "t.yaml", Catalog::builtin());
  double flow_bytes = 0;
  for (NetworkModel model : {NetworkModel::flows, NetworkModel::alpha_beta}) {
    SCOPED_TRACE(std::string(to_string(model)));
    const PreparedRun run = prepare_run(s, Catalog::builtin(), {RankScope::one_replica, model});
    TimelineRecorder recorder(run.plan, true);
    const Prediction p = predict(s, run, {&recorder});
    ASSERT_FALSE(p.busiest_links.empty());
    if (model == NetworkModel::flows)
      flow_bytes = p.busiest_links.front().bytes;
    else
      EXPECT_NEAR(p.busiest_links.front().bytes / flow_bytes, 1, 1e-12);
    const LinkUsage& busiest = p.busiest_links.front();
    EXPECT_DOUBLE_EQ(busiest.bandwidth_bytes_per_s, 25e9 * 0.94);
    ChromeTraceOptions options{{"rank 0", "rank 1"}, {}};
    for (const LinkUsage& l : p.busiest_links)
      options.links.push_back({l.link, l.name});
    const nlohmann::json trace = written(recorder.timeline(), options);
    // The links' process comes after the ranks' (one rank when one replica stands for both).
    const auto network_pid = static_cast<int>(run.plan.ranks.size());

    // The all-reduces on rank 0, and the busiest link's counter samples (time, GB/s).
    std::vector<std::pair<double, double>> all_reduces, samples;
    std::set<std::string> tracks;
    bool named = false;
    for (const auto& e : trace["traceEvents"]) {
      if (e["ph"] == "X" && e["pid"] == 0 && e["cat"] == "collective") {
        const double ts = e["ts"];
        all_reduces.emplace_back(ts, ts + e["dur"].get<double>());
      }
      if (e["ph"] == "C" && e["pid"] == network_pid) {
        tracks.insert(e["name"].get<std::string>());
        if (e["name"] == busiest.name)
          samples.emplace_back(e["ts"].get<double>(), e["args"]["GB/s"].get<double>());
      }
      named = named || (e["ph"] == "M" && e["pid"] == network_pid && e["name"] == "process_name");
    }
    EXPECT_TRUE(named);
    // One track per link `run --links` lists, and no other.
    EXPECT_EQ(tracks.size(), p.busiest_links.size());
    for (const LinkUsage& l : p.busiest_links)
      EXPECT_TRUE(tracks.count(l.name)) << l.name;
    ASSERT_FALSE(all_reduces.empty());
    ASSERT_FALSE(samples.empty());
    // In the middle of every all-reduce the link runs at its bandwidth, 23.5 GB/s; after the last
    // one it is idle.
    for (const auto& [start, end] : all_reduces) {
      const double middle = (start + end) / 2;
      double rate = 0;
      for (const auto& [ts, gb_per_s] : samples) {
        if (ts <= middle)
          rate = gb_per_s;
      }
      if (model == NetworkModel::flows)
        EXPECT_DOUBLE_EQ(rate, 23.5) << "all-reduce at " << start << " us";
      else
        EXPECT_NEAR(rate, 23.5, 0.2) << "all-reduce at " << start << " us";
    }
    EXPECT_EQ(samples.back().second, 0);
    EXPECT_GE(samples.back().first, all_reduces.back().first);
  }
}

TEST(ChromeTrace, ABusyLinkIsSampledAsItsMeanRate) {
  // A link idle on even microseconds and at 2 GB/s on odd ones for 4 ms changes 4,001 times:
  // more than chrome_trace_max_link_points, so the trace shows its mean over 1,000 intervals of
  // 4 us, 1 GB/s each, and its final rate at the end.
  Timeline timeline;
  timeline.link_rates.resize(4);
  constexpr std::int64_t microsecond = 1'000'000;
  for (std::int64_t i = 0; i <= 4000; ++i)
    timeline.link_rates[3].push_back({i * microsecond, i % 2 == 1 ? 2e9 : 0.0});
  std::vector<std::pair<double, double>> samples;
  const nlohmann::json trace = written(timeline, {{}, {{3, "busy"}}});
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "C")
      samples.emplace_back(e["ts"].get<double>(), e["args"]["GB/s"].get<double>());
  }
  ASSERT_EQ(samples.size(), chrome_trace_max_link_points + 1);
  for (std::size_t i = 0; i < chrome_trace_max_link_points; ++i) {
    EXPECT_DOUBLE_EQ(samples[i].first, 4.0 * static_cast<double>(i));
    EXPECT_NEAR(samples[i].second, 1.0, 1e-12);
  }
  EXPECT_EQ(samples.back(), (std::pair<double, double>{4000, 0}));
}

TEST(ChromeTrace, WritesTheTimelineItIsGiven) {
  // A timeline made by hand, as a measured run would make one: one rank, a 1.5 us GEMM from 1 us
  // and a 2 MB all-reduce after it, and its memory rising to 1 GiB. Every slice and sample
  // appears with its times in microseconds.
  Timeline timeline;
  timeline.ranks = {0};
  timeline.labels = {"gemm", "grads"};
  timeline.ops.push_back({0, 0, 0, 3, OpKind::compute, Stream::compute, 0, 1'000'000, 2'500'000});
  timeline.ops.push_back(
      {0, 1, 1, -1, OpKind::collective, Stream::dp_comm, 2e6, 2'500'000, 4'000'000});
  timeline.memory.push_back({0, 1'000'000, 1024.0 * 1024 * 1024});
  const nlohmann::json trace = written(timeline, {{"stage 0"}, {}});
  std::vector<nlohmann::json> slices, counters;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X")
      slices.push_back(e);
    if (e["ph"] == "C")
      counters.push_back(e);
    if (e["ph"] == "M" && e["name"] == "process_name") {
      EXPECT_EQ(e["args"]["name"], "stage 0");
    }
  }
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(slices[0]["name"], "gemm");
  EXPECT_DOUBLE_EQ(slices[0]["ts"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(slices[0]["dur"].get<double>(), 1.5);
  EXPECT_EQ(slices[0]["args"]["microbatch"], 3);
  EXPECT_FALSE(slices[0]["args"].contains("bytes"));
  EXPECT_EQ(slices[1]["cat"], "collective");
  EXPECT_EQ(slices[1]["tid"], static_cast<int>(Stream::dp_comm));
  EXPECT_EQ(slices[1]["args"]["bytes"], 2e6);
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0]["args"]["GiB"], 1.0);
}

}  // namespace
}  // namespace scaleplan
