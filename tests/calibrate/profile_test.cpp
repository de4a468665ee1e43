#include "hardware/profile.hpp"
#include "hardware/input/diagnostics.hpp"
#include "hardware/io/profile_io.hpp"

#include <cmath>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

GemmProfile sample_gemm() {
  GemmProfile g;
  g.peak_flops_per_s = {1e12, "test peak"};
  g.model = {1e-6, 0.8, 100, 50, 200};
  g.source = "test";
  g.table = {{{1024, 1024, 1024, 1}, 0.5}};
  return g;
}

TEST(Profile, ModelEfficiencyFollowsTheFormula) {
  const GemmProfile g = sample_gemm();
  const GemmDims d{1000, 500, 2000, 1};
  const double flops = 2.0 * 1000 * 500 * 2000;
  // time = fixed + F / (0.8 · peak) · (1 + 100/1000 + 50/500 + 200/2000) = 1e-6 + F/0.8e12 · 1.3
  const double time_s = 1e-6 + flops / 0.8e12 * 1.3;
  EXPECT_NEAR(g.model_efficiency(d), flops / (time_s * 1e12), 1e-12);
}

TEST(Profile, TableReproducesItsPointsAndFadesIntoTheModel) {
  const GemmProfile g = sample_gemm();
  EXPECT_DOUBLE_EQ(g.efficiency({1024, 1024, 1024, 1}), 0.5);
  // Beyond the radius (2 octaves: a factor 8 in one dimension is 3) only the model counts.
  const GemmDims far{8192, 1024, 1024, 1};
  EXPECT_DOUBLE_EQ(g.efficiency(far), g.model_efficiency(far));
  // Next to the point the ratio is mostly the point's, and it moves continuously.
  const GemmDims near{1040, 1024, 1024, 1};
  const double ratio = g.efficiency(near) / g.model_efficiency(near);
  const double point_ratio = 0.5 / g.model_efficiency({1024, 1024, 1024, 1});
  EXPECT_NEAR(ratio, point_ratio, 0.05 * point_ratio);
  const GemmDims edge{4090, 1024, 1024, 1};  // just inside 2 octaves
  EXPECT_NEAR(g.efficiency(edge) / g.model_efficiency(edge), 1.0, 1e-3);
}

TEST(Profile, TimeIsFlopsOverEfficiencyTimesPeak) {
  const GemmProfile g = sample_gemm();
  EXPECT_NEAR(g.time_s({1024, 1024, 1024, 1}), 2.0 * 1024 * 1024 * 1024 / (0.5 * 1e12), 1e-15);
  EXPECT_THROW(g.time_s({0, 1, 1, 1}), std::invalid_argument);
}

TEST(Profile, BusBandwidthFactorsAreNcclTests) {
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_reduce, 16), 2.0 * 15 / 16);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_gather, 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::send_recv, 8), 1.0);
}

TEST(Profile, CollectiveLookupPrefersSameNodesThenNearestRanks) {
  Profile p;
  auto fit = [](int ranks, int nodes) {
    CollectiveProfile c;
    c.op = CollectiveOp::all_reduce;
    c.ranks = ranks;
    c.nodes = nodes;
    c.latency_s = {1e-5 * ranks, "t"};
    c.bus_bandwidth_bytes_per_s = {1e11, "t"};
    return c;
  };
  p.collectives = {fit(8, 1), fit(2, 1), fit(16, 2)};
  EXPECT_EQ(p.collective(CollectiveOp::all_reduce, 8, 1)->ranks, 8);
  EXPECT_EQ(p.collective(CollectiveOp::all_reduce, 3, 1)->ranks, 2);  // 0.58 octaves against 1.42
  EXPECT_EQ(p.collective(CollectiveOp::all_reduce, 4, 1)->ranks, 8);  // a tie keeps the earlier
  EXPECT_EQ(p.collective(CollectiveOp::all_reduce, 32, 2)->ranks, 16);
  EXPECT_EQ(p.collective(CollectiveOp::all_gather, 8, 1), nullptr);
  // time = alpha + bytes · 2(n-1)/n / busbw
  EXPECT_NEAR(p.collectives[0].time_s(1e9), 8e-5 + 1e9 * 1.75 / 1e11, 1e-12);
}

TEST(Profile, WriteThenParseRoundTrips) {
  Profile p;
  p.device = "H100-SXM5-80GB";
  p.description = "a \"quoted\" description";
  p.measured_on = {"NVIDIA H100 80GB HBM3", "550.54.15", "12.4", "2.21.5", {"a", "b"}};
  p.gemm[Dtype::bf16] = sample_gemm();
  p.gemm[Dtype::bf16].fit = FitQuality{0.99, 0.12, 64};
  // A CPU's streaming kernels: from its caches up to 32 MiB, from DRAM beyond.
  p.memory = BandwidthProfile{{8e9, "fit"},
                              {2e-6, "fit"},
                              FitQuality{0.9, 0.1, 8},
                              {{0, 2e-6, 1 / 60e9}, {33554432, 2e-4, 1 / 8e9}}};
  p.kernel_launch_overhead_s = Figure{2.5e-6, "median"};
  CollectiveProfile c;
  c.op = CollectiveOp::reduce_scatter;
  c.algorithm = "nccl";
  c.ranks = 8;
  c.nodes = 1;
  c.latency_s = {3.22e-5, "derivation"};
  c.bus_bandwidth_bytes_per_s = {3.7e11, "issue"};
  p.collectives.push_back(c);
  c.op = CollectiveOp::all_reduce;
  c.ranks = 24;
  c.nodes = 3;
  c.nics_per_node = 4;
  c.segments = {{0, 3.22e-5, 1e-9}, {65536, 5e-5, 1.2e-11}};
  p.collectives.push_back(c);
  p.sustained_gemm_fraction = Figure{0.87, "fitted to steps"};
  const std::string text = write_profile(p);
  const Profile q = parse_profile(text, "p.yaml");
  EXPECT_EQ(write_profile(q), text);
  EXPECT_EQ(q.device, p.device);
  EXPECT_EQ(q.description, p.description);
  EXPECT_EQ(q.gemm.at(Dtype::bf16).model.k_half, 200);
  EXPECT_EQ(q.gemm.at(Dtype::bf16).fit->points, 64);
  EXPECT_EQ(q.collectives.at(0).op, CollectiveOp::reduce_scatter);
  EXPECT_FALSE(q.collectives.at(0).fit);
  EXPECT_FALSE(q.collectives.at(0).nics_per_node);
  EXPECT_EQ(q.collectives.at(1).nics_per_node, 4);
  EXPECT_EQ(q.sustained_gemm_fraction->value, 0.87);
  ASSERT_EQ(q.collectives.at(1).segments.size(), 2u);
  EXPECT_EQ(q.collectives.at(1).segments[1].from_bytes, 65536);
  // Each size takes its regime: below 64 KiB the first line, from it on the second.
  EXPECT_DOUBLE_EQ(q.collectives.at(1).time_s(1024), 3.22e-5 + 1024 * 1e-9);
  EXPECT_DOUBLE_EQ(q.collectives.at(1).time_s(65536), 5e-5 + 65536 * 1.2e-11);
  EXPECT_DOUBLE_EQ(q.collectives.at(1).time_s(1e9), 5e-5 + 1e9 * 1.2e-11);
  // The memory's regimes alike: a 1 MiB array from the caches, 193 MB from DRAM.
  ASSERT_EQ(q.memory->segments.size(), 2u);
  EXPECT_DOUBLE_EQ(q.memory->time_s(1048576), 2e-6 + 1048576 / 60e9);
  EXPECT_DOUBLE_EQ(q.memory->time_s(193e6), 2e-4 + 193e6 / 8e9);
}

TEST(Profile, ErrorsNameFileLineAndKey) {
  const std::string text =
      "format: scaleplan-profile/1\n"
      "device: X\n"
      "sustained_gemm_fraction: {value: 3, source: s}\n"
      "memory:\n"
      "  bandwidth_bytes_per_s: 3e12\n"
      "  latency_s: {value: 1e-6, source: \"\"}\n"
      "collectives:\n"
      "  - {collective: all-reduse, algorithm: nccl, ranks: 8, nodes: 1,\n"
      "     latency_s: {value: 1e-5, source: s}, bus_bandwidth_bytes_per_s: {value: 1e11, "
      "source: s}}\n"
      "  - {collective: all-reduce, algorithm: nccl, ranks: 8, nodes: 1, nics_per_node: 8,\n"
      "     latency_s: {value: 1e-5, source: s}, bus_bandwidth_bytes_per_s: {value: 1e11, "
      "source: s},\n"
      "     segments: [{from_bytes: 0, latency_s: 1e-5, seconds_per_byte: 1e-10},\n"
      "                {from_bytes: 0, latency_s: 2e-5, seconds_per_byte: 1e-11}]}\n";
  try {
    parse_profile(text, "p.yaml");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("p.yaml:3:"), std::string::npos) << what;
    EXPECT_NE(what.find("sustained_gemm_fraction: a share of the measured throughput, at most 1.5; "
                        "got 3"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("p.yaml:5:"), std::string::npos) << what;
    EXPECT_NE(what.find("memory.bandwidth_bytes_per_s: expected {value"), std::string::npos)
        << what;
    EXPECT_NE(what.find("memory.latency_s.source: must name"), std::string::npos) << what;
    EXPECT_NE(what.find("did you mean 'all-reduce'"), std::string::npos) << what;
    EXPECT_NE(what.find("p.yaml:10:"), std::string::npos) << what;
    EXPECT_NE(what.find("collectives[].nics_per_node: applies only to groups over several nodes"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("p.yaml:13:"), std::string::npos) << what;
    EXPECT_NE(what.find("collectives[].segments[].from_bytes: regimes go from small to large "
                        "sizes: 0 does not exceed the previous 0"),
              std::string::npos)
        << what;
  }
}

TEST(Profile, EfficienciesAboveThePeakAreRefused) {
  // A table efficiency of 1000 (1000 times the profile's peak) and a model asymptote of 3: a
  // measurement never beats the peak it is a fraction of; the asymptote may pass it only a
  // little, where the peak is the best shape measured.
  const std::string text =
      "format: scaleplan-profile/1\n"
      "device: X\n"
      "gemm:\n"
      "  bf16:\n"
      "    peak_flops_per_s: {value: 1e15, source: s}\n"
      "    source: s\n"
      "    model: {fixed_s: 0, peak_efficiency: 3, m_half: 0, n_half: 0, k_half: 0}\n"
      "    table:\n"
      "      - {m: 64, n: 64, k: 64, batch: 1, efficiency: 1000}\n"
      "      - {m: 4294967296, n: 64, k: 64, batch: 1, efficiency: 0.5}\n";
  try {
    parse_profile(text, "p.yaml");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("p.yaml:7:42: gemm.bf16.model.peak_efficiency: must be from 0.001 to 2, "
                        "got 3"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("gemm.bf16.table[].efficiency: must be from 1e-15 to 1, got 1000"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("gemm.bf16.table[].m: 4294967296 is out of range; use a value from 1 to "
                        "2147483647"),
              std::string::npos)
        << what;
  }
}

TEST(Profile, BuiltInProfilesLoad) {
  for (const char* name : {"a100.yaml", "h100.yaml"}) {
    const Profile p =
        load_profile(std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/profiles/" + name);
    EXPECT_TRUE(p.gemm.count(Dtype::bf16)) << name;
    EXPECT_FALSE(p.collectives.empty()) << name;
    for (const auto& [dtype, g] : p.gemm)
      EXPECT_FALSE(g.peak_flops_per_s.source.empty());
  }
}

}  // namespace
}  // namespace scaleplan
