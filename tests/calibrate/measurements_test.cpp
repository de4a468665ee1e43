#include "calibrate/measurements.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "calibrate/compute_bench.hpp"
#include "calibrate/cpu_backend.hpp"
#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {
namespace {

TEST(Measurements, WriteThenParseRoundTrips) {
  MeasurementRun run;
  run.source = "unit test";
  run.environment = {"tool 1", "cpu", "a CPU", "", "", "", "Open MPI", "Eigen", {"h1", "h2"}};
  run.gemm.push_back({Dtype::bf16, {128, 256, 64, 4}, 1.25e-5, 10});
  run.memory.push_back({"triad", 3e6, 1e-4, 5});
  run.launch.push_back({"empty", 2.5e-6, 5});
  CollectiveMeasurement c;
  c.op = CollectiveOp::broadcast;
  c.algorithm = "mpi";
  c.ranks = 4;
  c.nodes = 2;
  c.bytes = 4096;
  c.count = 1024;
  c.type = "float";
  c.redop = "none";
  c.root = 0;
  c.in_place = true;
  c.time_s = 1.0 / 3;
  run.collectives.push_back(c);
  const std::string text = write_measurements({{run}});
  const Measurements m = parse_measurements(text, "m.yaml");
  EXPECT_EQ(write_measurements(m), text);
  ASSERT_EQ(m.runs.size(), 1u);
  EXPECT_EQ(m.runs[0].gemm[0].dims.batch, 4);
  EXPECT_EQ(m.runs[0].collectives[0].time_s, 1.0 / 3);  // exact: shortest round-trip text
  EXPECT_EQ(m.runs[0].environment.hosts.size(), 2u);
}

TEST(Measurements, ErrorsNameFileLineAndKey) {
  const std::string text =
      "format: scaleplan-measurements/1\n"
      "runs:\n"
      "  - source: x\n"
      "    gemm:\n"
      "      - {dtype: bf17, m: 64, n: 64, k: 64, time_s: 1e-5}\n"
      "      - {dtype: bf16, m: -1, n: 64, k: 64, time_s: 0}\n";
  try {
    parse_measurements(text, "m.yaml");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("m.yaml:5:"), std::string::npos) << what;
    EXPECT_NE(what.find("did you mean 'bf16'"), std::string::npos) << what;
    EXPECT_NE(what.find("runs[0].gemm[].m: -1 is out of range; use a value from 1 to 2147483647"),
              std::string::npos)
        << what;
    // No kernel is measured faster than a nanosecond.
    EXPECT_NE(what.find("runs[0].gemm[].time_s: must be from 1e-09 to 1000000, got 0"),
              std::string::npos)
        << what;
  }
}

TEST(Measurements, CountsAndFiguresOutOfRangeAreRefusedNeverNarrowed) {
  // ranks 4,294,967,304 = 2^32 + 8 was narrowed to 8; a time of 1e-300 s, a root past the ranks
  // and more nodes than ranks are each refused at their key.
  const std::string text =
      "format: scaleplan-measurements/1\n"
      "runs:\n"
      "  - source: x\n"
      "    collectives:\n"
      "      - {collective: all-reduce, algorithm: nccl, ranks: 4294967304, nodes: 1,\n"
      "         bytes: 8, time_s: 1e-5}\n"
      "      - {collective: broadcast, algorithm: nccl, ranks: 4, nodes: 8, root: 4,\n"
      "         bytes: 8, time_s: 1e-300}\n";
  try {
    parse_measurements(text, "m.yaml");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("m.yaml:5:58: runs[0].collectives[].ranks: 4294967304 is out of range; "
                        "use a value from 1 to 16777216"),
              std::string::npos)
        << what;
    // One error for the rank count, not a second that it is below 2.
    EXPECT_EQ(what.find("needs at least 2 ranks"), std::string::npos) << what;
    EXPECT_NE(what.find("runs[0].collectives[].nodes: more nodes (8) than ranks"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("runs[0].collectives[].root: rank 4 is not one of the 4 ranks"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("runs[0].collectives[].time_s: must be from 1e-09 to 1000000, got 1e-300"),
              std::string::npos)
        << what;
  }
}

TEST(ComputeBench, SweepHoldsTransformerShapesAndTheGrid) {
  GemmSweepOptions o;
  o.presets = {"gpt3-175b"};
  o.tp = {8};
  o.grid_min = 256;
  o.grid_max = 1024;
  const std::vector<GemmDims> shapes = gemm_sweep(o);
  auto has = [&](GemmDims d) {
    for (const auto& s : shapes) {
      if (s.m == d.m && s.n == d.n && s.k == d.k && s.batch == d.batch)
        return true;
    }
    return false;
  };
  // QKV of GPT-3 175B at tp 8: 2048 tokens × (3·12288/8) × 12288; attention scores batched over
  // the 12 local heads.
  EXPECT_TRUE(has({2048, 4608, 12288, 1}));
  EXPECT_TRUE(has({2048, 2048, 128, 12}));
  EXPECT_TRUE(has({256, 1024, 256, 1}));
  o.max_flops = 1e9;
  for (const GemmDims& d : gemm_sweep(o))
    EXPECT_LE(gemm_flops(d), 1e9);
  o.presets = {"gpt-5"};
  EXPECT_THROW(gemm_sweep(o), std::invalid_argument);
  // MoE presets add the router and the grouped expert GEMMs: Mixtral's 32768-token sequence
  // sends 32768·2/8 tokens to each of its 8 experts.
  o.presets = {"mixtral-8x7b"};
  o.tp = {1};
  o.max_flops = 1e15;
  const std::vector<GemmDims> moe = gemm_sweep(o);
  auto has_moe = [&](GemmDims d) {
    return std::any_of(moe.begin(), moe.end(), [&](const GemmDims& s) {
      return s.m == d.m && s.n == d.n && s.k == d.k && s.batch == d.batch;
    });
  };
  EXPECT_TRUE(has_moe({32768, 8, 4096, 1}));
  EXPECT_TRUE(has_moe({8192, 2 * 14336, 4096, 8}));
}

TEST(ComputeBench, CpuBackendMeasuresEverything) {
  CpuBackend backend;
  ComputeBenchOptions o;
  o.sweep.transformer = false;
  o.sweep.grid_min = 16;
  o.sweep.grid_max = 64;
  o.memory_min_elements = 1 << 12;
  o.memory_max_elements = 1 << 14;
  o.timing = {1, 3};
  std::ostringstream log;
  const MeasurementRun run = run_compute_bench(backend, o, log);
  EXPECT_EQ(run.gemm.size(), 8u);  // fp32 only: m, n, k in {16, 64}
  EXPECT_NE(log.str().find("skipping bf16 GEMMs"), std::string::npos);
  EXPECT_EQ(run.memory.size(), 4u);
  EXPECT_EQ(run.launch.size(), 1u);
  for (const auto& g : run.gemm)
    EXPECT_GT(g.time_s, 0);
  EXPECT_EQ(run.environment.backend, "cpu");
}

}  // namespace
}  // namespace scaleplan
