// The whole loop on this machine: the CPU benchmark programs measure, `scaleplan calibrate fit`
// fits and reports the fit quality, `scaleplan calibrate compare` predicts every measured point,
// and a scenario on the profile's device predicts a training step from it, with four MPI ranks
// split into two emulated nodes so that the inter-node fits are measured and used too.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

#include "calibrate/measurements.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/profile_io.hpp"
#include "hardware/profile.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& command) {
  return scaleplan::test::run_command(command);
}

std::filesystem::path work_dir(const std::string& name) {
  return scaleplan::test::scratch_dir(name);
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// GEMMs over a grid of shapes from 8 to `grid_max` (factor 4, batches 1 and 4), copy and triad
// from 4 MiB to `memory_max`, launches.
Output measure_compute(const std::string& output, const std::string& grid_max,
                       const std::string& memory_max) {
  return run(std::string(SCALEPLAN_BENCH_CPU) + " -o " + output +
             " --no-transformer --grid-min 8 --grid-max " + grid_max +
             " --grid-factor 4 --grid-batches 1,4 --memory-min-bytes 4M --memory-max-bytes " +
             memory_max + " --memory-factor 2 --warmup 1 --repeats 5");
}

// MPI collectives from 8 B to 128 KiB (factor 4) on `ranks` ranks of this machine.
Output measure_collectives(int ranks, const std::string& output, const std::string& options = "") {
  // OpenMPI keeps some of its allocations to process exit; under the sanitizer build that is
  // reported as leaks that are not ours, so the MPI ranks run without leak detection.
  return run(std::string(SCALEPLAN_MPIRUN) + " --allow-run-as-root --oversubscribe -np " +
             std::to_string(ranks) + " -x ASAN_OPTIONS=detect_leaks=0 " + SCALEPLAN_BENCH_MPI +
             " -o " + output + " -b 8 -e 256K -f 4 --warmup 2 --iterations 10 --repeats 5" +
             options);
}

// Every "R² x, worst error y %" of the fit report.
std::vector<std::pair<double, double>> qualities(const std::string& report) {
  static const std::regex pattern(R"(R² (-?[0-9.]+), worst error ([0-9.]+) %)");
  std::vector<std::pair<double, double>> found;
  for (auto it = std::sregex_iterator(report.begin(), report.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    found.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]) / 100);
  }
  return found;
}

TEST(CalibrateLoop, CpuMeasureFitCompare) {
  const auto dir = work_dir("scaleplan-calibrate-loop");
  const std::string gemm = (dir / "cpu.yaml").string(), mpi = (dir / "mpi.yaml").string(),
                    profile = (dir / "profile.yaml").string();
  Output out = measure_compute(gemm, "512", "32M");
  ASSERT_EQ(out.status, 0) << out.text;
  out = measure_collectives(2, mpi);
  ASSERT_EQ(out.status, 0) << out.text;
  const scaleplan::Measurements measured = scaleplan::load_measurements(mpi);
  ASSERT_EQ(measured.runs.size(), 1u);
  EXPECT_EQ(measured.runs[0].collectives.size(), 6u * 8);  // 6 collectives, 8 B to 128 KiB by 4
  EXPECT_FALSE(measured.runs[0].environment.mpi.empty());

  out =
      run(std::string(SCALEPLAN_BINARY) + " calibrate fit " + gemm + " " + mpi + " -o " + profile);
  ASSERT_EQ(out.status, 0) << out.text;
  std::cout << out.text;
  for (const char* line : {"gemm fp32", "memory", "launch", "all-reduce mpi 2 ranks / 1 node",
                           "send-recv mpi 2 ranks / 1 node"}) {
    EXPECT_NE(out.text.find(line), std::string::npos) << line;
  }
  const auto q = qualities(out.text);
  ASSERT_EQ(q.size(), 8u) << out.text;  // gemm, memory and six collectives
  // GEMM times span four orders of magnitude over these shapes; the model must follow them.
  EXPECT_GT(q[0].first, 0.9) << out.text;
  for (const auto& [r_squared, worst] : q) {
    EXPECT_LE(r_squared, 1.0);
    EXPECT_TRUE(std::isfinite(worst) && worst >= 0);
  }

  out = run(std::string(SCALEPLAN_BINARY) + " calibrate compare " + profile + " " + gemm);
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("gemm: 128 points"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("memory: 8 points"), std::string::npos) << out.text;
  out = run(std::string(SCALEPLAN_BINARY) + " calibrate compare " + profile + " " + mpi);
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("collective: 48 points"), std::string::npos) << out.text;
  std::filesystem::remove_all(dir);
}

// This machine's CPU as a catalog device, one per MPI rank. No datasheet describes it: each
// figure says whether the profile replaces it or why its value cannot change what is checked.
const char* const cpu_catalog = R"yaml(network_defaults:
  switch_latency_s: {value: 1.3e-7, source: "test fixture: the emulated nodes share one host and no switch; the built-in catalog's figure (Quantum HDR, 130 ns), nanoseconds against collectives of microseconds"}
  nic_latency_s: {value: 6.0e-7, source: "test fixture: the emulated nodes have no NIC; the built-in catalog's figure (ConnectX-6, 0.6 us), small against the profile's fitted collective latencies of microseconds"}
devices:
  - name: ci-cpu
    kind: cpu
    vendor: "test fixture"
    peak_flops_per_s:
      fp32: {value: 1.0e+12, source: "test fixture: an upper bound, not this machine's peak (unknown): the profile's GEMM efficiencies are fractions of it and the fit caps its model's asymptote at 1, so it must exceed what scaleplan-bench-cpu reaches; that runs Eigen on one thread, and one x86 core with two AVX-512 FMA units at 6 GHz peaks at 2 x 16 lanes x 2 FLOP x 6e9 = 384 GFLOP/s"}
    memory_bytes: {value: 4294967296, source: "test fixture: 4 GiB per rank, not this machine's share; the scenario's model needs about 20 MB per rank"}
    memory_bandwidth_bytes_per_s: {value: 1.0e+10, source: "test fixture: placeholder, not measured; the profile's memory fit replaces it"}
    intra_node_link_bandwidth_bytes_per_s: {value: 1.0e+10, source: "test fixture: placeholder, not measured; the profile's all-reduce 2 ranks / 1 node bus bandwidth replaces it"}
    host_link_bandwidth_bytes_per_s: {value: 6.3e+10, source: "PCIe Gen5 x16 per direction (32 GT/s x 16 lanes x 128/130 / 8), the slot of the NIC a CPU rank sends through; it does not bind here, where the profile's NIC figure is a few GB/s"}
    intra_node_link_latency_s: {value: 1.0e-6, source: "test fixture: not measured; 1 us, the order of one MPI message through shared memory (the 2-rank all-reduce's fitted alpha is a few microseconds)"}
    power_w: {value: 100, source: "test fixture: not measured; the prediction does not use it"}
    compute_efficiency: {value: 1.0, source: "test fixture: placeholder; the profile times GEMM and attention kernels, and the model gives the other kernels bytes but no FLOPs, so nothing reads it here"}
    memory_efficiency: {value: 1.0, source: "test fixture: placeholder; the profile's memory fit replaces the catalog bandwidth it scales"}
    kernel_launch_overhead_s: {value: 1.0e-6, source: "test fixture: placeholder; the profile's GEMM fixed cost and memory latency replace it"}
    collective_step_latency_s: {value: 1.0e-6, source: "test fixture: placeholder; the alpha of the profile's all-reduce 2 ranks / 1 node replaces it"}
)yaml";

// A small GPT in fp32 on the two emulated nodes: tensor parallel inside a node, data parallel
// across them over one NIC per node. The NIC line rate is what the profile's figure replaces.
const char* const cpu_scenario = R"(name: cpu-loop
calibration: profile.yaml
cluster:
  device: ci-cpu
  nodes: 2
  devices_per_node: 2
  network:
    topology: fat-tree
    link_bandwidth_gbps: 100
    nics_per_node: 1
model:
  family: gpt
  layers: 2
  hidden: 256
  heads: 4
  vocab: 1024
  seq_len: 128
training:
  global_batch: 4
  micro_batch: 1
  dtype: fp32
parallelism:
  tp: 2
  dp: 2
  sequence_parallel: true
)";

// `scaleplan run --json` of the scenario above with `profile` beside it in `dir`.
nlohmann::json run_scenario(const std::filesystem::path& dir, const scaleplan::Profile& profile,
                            const std::string& catalog) {
  std::filesystem::create_directories(dir);
  write_file(dir / "profile.yaml", scaleplan::write_profile(profile));
  write_file(dir / "scenario.yaml", cpu_scenario);
  const Output out = run(std::string(SCALEPLAN_BINARY) + " run --catalog " + catalog + " " +
                         (dir / "scenario.yaml").string() + " --json");
  EXPECT_EQ(out.status, 0) << out.text;
  return out.status == 0 ? nlohmann::json::parse(out.text) : nlohmann::json::object();
}

TEST(CalibrateLoop, EmulatedNodesMeasureFitPredict) {
  const auto dir = work_dir("scaleplan-calibrate-nodes");
  const std::string gemm = (dir / "cpu.yaml").string(), mpi = (dir / "mpi.yaml").string(),
                    catalog = (dir / "catalog.yaml").string(),
                    fitted = (dir / "fitted.yaml").string();
  // Shapes up to 128 only: the scenario's GEMMs, with dimensions up to 512, take the fitted model
  // where they are larger, and the sanitizer build times its unoptimised Eigen in seconds rather
  // than minutes.
  Output out = measure_compute(gemm, "128", "16M");
  ASSERT_EQ(out.status, 0) << out.text;
  out = measure_collectives(4, mpi, " --ranks-per-node 2");
  ASSERT_EQ(out.status, 0) << out.text;

  // Ranks 0-1 are node 0 and ranks 2-3 node 1: `world` spans both nodes, `node` is one, `rail`
  // pairs the ranks of equal local rank across them; `node:2` repeats `node` and is skipped.
  const scaleplan::Measurements measured = scaleplan::load_measurements(mpi);
  ASSERT_EQ(measured.runs.size(), 1u);
  const scaleplan::MeasurementRun& collectives = measured.runs[0];
  EXPECT_NE(collectives.source.find("on 4 ranks as 2 nodes of 2 (--ranks-per-node 2)"),
            std::string::npos)
      << collectives.source;
  EXPECT_EQ(collectives.environment.hosts.size(), 1u);  // one host: the node split is emulated
  std::map<scaleplan::CollectiveOp, std::set<std::pair<int, int>>> shapes;
  for (const scaleplan::CollectiveMeasurement& m : collectives.collectives)
    shapes[m.op].insert({m.ranks, m.nodes});
  ASSERT_EQ(shapes.size(), 6u);
  for (const auto& [op, measured_shapes] : shapes) {
    EXPECT_EQ(measured_shapes, (std::set<std::pair<int, int>>{{2, 1}, {2, 2}, {4, 2}}))
        << to_string(op);
  }
  // 3 groups x 6 collectives x 8 sizes, less the 8-byte all-gather, reduce-scatter and all-to-all
  // on 4 ranks, whose 2-byte chunks are not a whole fp32 element.
  EXPECT_EQ(collectives.collectives.size(), 3u * 6 * 8 - 3);

  write_file(catalog, cpu_catalog);
  out = run(std::string(SCALEPLAN_BINARY) + " calibrate fit " + gemm + " " + mpi +
            " --device ci-cpu --catalog " + catalog + " -o " + fitted);
  ASSERT_EQ(out.status, 0) << out.text;
  std::cout << out.text;
  for (const char* op :
       {"all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast", "send-recv"}) {
    for (const char* group : {"2 ranks / 1 node", "2 ranks / 2 nodes", "4 ranks / 2 nodes"}) {
      const std::string line = std::string(op) + " mpi " + group;
      EXPECT_NE(out.text.find(line), std::string::npos) << line << "\n" << out.text;
    }
  }
  EXPECT_EQ(qualities(out.text).size(), 2u + 6 * 3) << out.text;  // gemm, memory, 18 collectives

  const scaleplan::Profile profile = scaleplan::load_profile(fitted);
  const auto base_dir = dir / "base";
  const nlohmann::json base = run_scenario(base_dir, profile, catalog);
  ASSERT_TRUE(base.contains("breakdown")) << base.dump(2);
  const std::string profile_name = (base_dir / "profile.yaml").lexically_normal().string();
  EXPECT_NE(base["compute_model"].get<std::string>().find("calibration profile " + profile_name +
                                                          " of ci-cpu: GEMM fp32"),
            std::string::npos)
      << base["compute_model"];
  // The links take the profile's all-reduce bus bandwidths: the single-node fit inside a node,
  // the fit over both nodes on each node's one NIC.
  const scaleplan::CollectiveProfile* intra =
      profile.collective(scaleplan::CollectiveOp::all_reduce, 2, 1);
  const scaleplan::CollectiveProfile* inter =
      profile.collective(scaleplan::CollectiveOp::all_reduce, 4, 2);
  ASSERT_TRUE(intra && intra->ranks == 2 && intra->nodes == 1);
  ASSERT_TRUE(inter && inter->ranks == 4 && inter->nodes == 2);
  auto gb_per_s = [](const scaleplan::Figure& f) {
    return fmt::format("{:.1f} GB/s", f.value / 1e9);
  };
  const std::string links = base["link_bandwidths"].get<std::string>();
  const std::string of_profile = "calibration profile " + profile_name + ")";
  EXPECT_NE(links.find("intra-node links " + gb_per_s(intra->bus_bandwidth_bytes_per_s) +
                       " (all-reduce 2 ranks / 1 node bus bandwidth, " + of_profile),
            std::string::npos)
      << links;
  EXPECT_NE(links.find("NIC links " + gb_per_s(inter->bus_bandwidth_bytes_per_s) +
                       " (all-reduce 4 ranks / 2 nodes bus bandwidth " +
                       gb_per_s(inter->bus_bandwidth_bytes_per_s) + " over 1 NIC per node, " +
                       of_profile),
            std::string::npos)
      << links;
  // CPU ranks communicate through MPI: no NCCL buffers.
  EXPECT_EQ(base["memory"]["nccl_buffer_bytes"].get<double>(), 0.0);
  EXPECT_TRUE(base["memory"]["fits"].get<bool>());
  // The text report keeps three digits of a fraction of a TFLOP/s rather than printing 0.0.
  const Output text = run(std::string(SCALEPLAN_BINARY) + " run --catalog " + catalog + " " +
                          (base_dir / "scenario.yaml").string());
  ASSERT_EQ(text.status, 0) << text.text;
  const double tflops = base["model_tflops_per_device"].get<double>();
  ASSERT_LT(tflops, 1);
  EXPECT_NE(text.text.find("model TFLOP/s per device   " + fmt::format("{:.3g}", tflops) + "\n"),
            std::string::npos)
      << text.text;

  // The compute part of the step comes from the profile and from nothing else. With GEMMs twice
  // as slow (half the peak their efficiencies are fractions of, twice the fitted fixed cost of a
  // call), it grows by the GEMM and attention kernels' share of it: most of it in a transformer
  // of hidden 256, not all, since norms, residuals and the optimizer step are timed by the
  // memory fit. With the memory fit twice as slow as well, every kernel is, and the compute part
  // doubles to the picosecond rounding of its blocks: no kernel time comes from the catalog's
  // placeholders.
  const double compute_s = base["breakdown"]["compute_s"].get<double>();
  ASSERT_GT(compute_s, 0);
  scaleplan::Profile slow = profile;
  scaleplan::GemmProfile& slow_gemm_fit = slow.gemm.at(scaleplan::Dtype::fp32);
  slow_gemm_fit.peak_flops_per_s.value /= 2;
  slow_gemm_fit.model.fixed_s *= 2;
  const nlohmann::json slow_gemm = run_scenario(dir / "slow-gemm", slow, catalog);
  ASSERT_TRUE(slow_gemm.contains("breakdown")) << slow_gemm.dump(2);
  const double gemm_ratio = slow_gemm["breakdown"]["compute_s"].get<double>() / compute_s;
  EXPECT_GT(gemm_ratio, 1.5);
  EXPECT_LT(gemm_ratio, 2.0);
  ASSERT_TRUE(slow.memory.has_value());
  slow.memory->bandwidth_bytes_per_s.value /= 2;
  slow.memory->latency_s.value *= 2;
  const nlohmann::json slow_all = run_scenario(dir / "slow-all", slow, catalog);
  ASSERT_TRUE(slow_all.contains("breakdown")) << slow_all.dump(2);
  EXPECT_NEAR(slow_all["breakdown"]["compute_s"].get<double>() / compute_s, 2.0, 1e-6);
  std::filesystem::remove_all(dir);
}

// Only rank 0 reports a node size that does not divide the world, or an unknown group shape, and
// no rank measures.
TEST(CalibrateLoop, RankZeroRefusesBadNodeSizesAndGroups) {
  const auto dir = work_dir("scaleplan-calibrate-split");
  const std::string mpi = (dir / "mpi.yaml").string();
  const Output out = measure_collectives(4, mpi, " --ranks-per-node 3");
  EXPECT_NE(out.status, 0);
  const std::string message =
      "scaleplan-bench-mpi: --ranks-per-node 3 does not divide a world of 4 ranks; use one of 1, "
      "2, 4";
  const auto at = out.text.find(message);
  EXPECT_NE(at, std::string::npos) << out.text;
  EXPECT_EQ(out.text.find(message, at + 1), std::string::npos) << out.text;
  EXPECT_FALSE(std::filesystem::exists(mpi));

  // So is a group shape that does not exist, before any rank measures.
  const Output groups = measure_collectives(4, mpi, " --groups world,racks");
  EXPECT_NE(groups.status, 0);
  const std::string unknown =
      "scaleplan-bench-mpi: unknown group 'racks'; use world, node, node:G or rail";
  const auto first = groups.text.find(unknown);
  EXPECT_NE(first, std::string::npos) << groups.text;
  EXPECT_EQ(groups.text.find(unknown, first + 1), std::string::npos) << groups.text;
  EXPECT_FALSE(std::filesystem::exists(mpi));
  std::filesystem::remove_all(dir);
}

}  // namespace
