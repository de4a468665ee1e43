// `scaleplan execute` under mpirun on this machine's CPU: the closed loop on the shipped CPU plans
// (calibrate, predict, execute, compare) with a bound loose enough for a busy machine, the same
// ops in the same order in both traces, and the safety rails (too few ranks, a dtype the backend
// lacks, a plan larger than the device's memory, a hung collective, Ctrl-C).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

#include "sim/plan/plan_io.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

const std::string source = SCALEPLAN_SOURCE_DIR;
const std::string scaleplan_binary = SCALEPLAN_BINARY;
const std::string catalog = source + "/scenarios/cpu/cpu-catalog.yaml";

Output run(const std::string& command) {
  return scaleplan::test::run_command(command);
}

std::string mpirun(int ranks) {
  // OpenMPI keeps some allocations to process exit, which the sanitizer build reports as leaks.
  return std::string(SCALEPLAN_MPIRUN) + " --allow-run-as-root --oversubscribe -np " +
         std::to_string(ranks) + " -x ASAN_OPTIONS=detect_leaks=0 ";
}

std::string execute(int ranks, const std::string& scenario, const std::string& output,
                    const std::string& options = "") {
  return mpirun(ranks) + scaleplan_binary + " execute " + scenario + " --catalog " + catalog +
         " --backend cpu -o " + output + options;
}

std::size_t op_count(const scaleplan::Plan& plan) {
  std::size_t n = 0;
  for (const auto& r : plan.ranks)
    n += r.ops.size();
  return n;
}

// Predicted against measured on every shipped CPU plan. The bound is loose on purpose: on a
// shared two-core machine the measured step is several times the prediction (the ranks share
// cores with whatever else runs; bench/closed_loop prints the figures). What must hold exactly:
// every op of every rank is in both traces, in the same order on every stream.
TEST(ExecuteLoop, ShippedCpuPlansPredictedExecutedCompared) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-loop");
  const std::string profile = (dir / "profile.yaml").string();
  struct Case {
    const char* name;
    int ranks;
  };
  const std::vector<Case> cases{
      {"2rank-tp2", 2}, {"2rank-pp2", 2}, {"2rank-dp2", 2}, {"4rank-tp2-pp2", 4}};
  std::string plans;
  for (const Case& c : cases) {
    const std::string plan = (dir / (std::string(c.name) + ".plan.yaml")).string();
    const Output out = run(scaleplan_binary + " run --catalog " + catalog + " " + source +
                           "/scenarios/cpu/" + c.name + ".yaml --all-ranks --dump-plan " + plan);
    ASSERT_EQ(out.status, 0) << out.text;
    plans += " --plan " + plan;
  }
  // A quick calibration: the plans' GEMM shapes, memory streams, 2-rank MPI collectives.
  Output out = run(std::string(SCALEPLAN_BENCH_CPU) + " -o " + (dir / "cpu.yaml").string() +
                   " --dtypes fp32 --no-transformer --no-grid" + plans +
                   " --memory-min-bytes 4M --memory-max-bytes 64M --warmup 1 --repeats 3");
  ASSERT_EQ(out.status, 0) << out.text;
  out = run(mpirun(2) + SCALEPLAN_BENCH_MPI + " -o " + (dir / "mpi.yaml").string() +
            " -b 8 -e 1M -f 4 --warmup 1 --iterations 5 --repeats 3");
  ASSERT_EQ(out.status, 0) << out.text;
  out = run(scaleplan_binary + " calibrate fit " + (dir / "cpu.yaml").string() + " " +
            (dir / "mpi.yaml").string() + " --device cpu-rank --catalog " + catalog + " -o " +
            profile);
  ASSERT_EQ(out.status, 0) << out.text;

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string scenario = source + "/scenarios/cpu/" + c.name + ".yaml";
    const std::string predicted = (dir / (std::string(c.name) + ".predicted.json")).string();
    const std::string measured = (dir / (std::string(c.name) + ".measured.json")).string();
    out = run(scaleplan_binary + " run --catalog " + catalog + " --calibration " + profile + " " +
              scenario + " --all-ranks --trace " + predicted);
    ASSERT_EQ(out.status, 0) << out.text;
    out = run(execute(c.ranks, scenario, measured, " --warmup 1 --steps 1"));
    ASSERT_EQ(out.status, 0) << out.text;
    EXPECT_NE(out.text.find("executed " + scenario + " on " + std::to_string(c.ranks) +
                            " ranks (cpu backend)"),
              std::string::npos)
        << out.text;
    std::ifstream summary_file(dir / (std::string(c.name) + ".measured.summary.json"));
    const nlohmann::json summary = nlohmann::json::parse(summary_file);
    EXPECT_EQ(summary["format"], "scaleplan-measured/1");
    EXPECT_EQ(summary["ranks"], c.ranks);

    out = run(scaleplan_binary + " compare --json " + predicted + " " + measured);
    ASSERT_EQ(out.status, 0) << out.text;
    const nlohmann::json j = nlohmann::json::parse(out.text);
    const scaleplan::Plan plan =
        scaleplan::read_plan((dir / (std::string(c.name) + ".plan.yaml")).string());
    EXPECT_EQ(j["ranks"].size(), static_cast<std::size_t>(c.ranks));
    EXPECT_EQ(j["matched_ops"].get<std::size_t>(), op_count(plan));
    EXPECT_EQ(j["unmatched_ops"].get<std::size_t>(), 0u);
    EXPECT_TRUE(j["order_differences"].empty()) << j["order_differences"].dump();
    const double p = j["step"]["predicted_s"].get<double>(),
                 m = j["step"]["measured_s"].get<double>();
    std::cout << c.name << ": predicted " << p << " s, measured " << m << " s\n";
    EXPECT_GT(p, 0);
    EXPECT_GT(m, 0);
    // Within a factor of 50 either way: a wrong unit, a missing kernel or an op run a thousand
    // times would break it; a loaded machine does not.
    EXPECT_GT(p / m, 1.0 / 50) << out.text;
    EXPECT_LT(p / m, 50.0) << out.text;
    const Output text = run(scaleplan_binary + " compare " + predicted + " " + measured);
    ASSERT_EQ(text.status, 0) << text.text;
    EXPECT_NE(text.text.find("op order the same on every stream"), std::string::npos) << text.text;
  }
  std::filesystem::remove_all(dir);
}

TEST(ExecuteLoop, RefusesTooFewRanksAndDtypesTheBackendLacks) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-refuse");
  const std::string scenario = source + "/scenarios/cpu/2rank-tp2.yaml";
  const std::string output = (dir / "m.json").string();
  Output out = run(execute(1, scenario, output));
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("the plan needs 2 ranks, but 1 is present; start it with 2 ranks "
                          "(mpirun -np 2, srun --ntasks 2)"),
            std::string::npos)
      << out.text;
  EXPECT_FALSE(std::filesystem::exists(output));

  // A plan file (the scenario reader would refuse bf16 on this device first): the 2-rank plan
  // with its kernels in bf16.
  const std::string plan = (dir / "plan.yaml").string();
  out =
      run(scaleplan_binary + " run --catalog " + catalog + " " + scenario + " --dump-plan " + plan);
  ASSERT_EQ(out.status, 0) << out.text;
  std::ifstream in(plan);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto at = text.find("dtype: fp32"); at != std::string::npos; at = text.find("dtype: fp32"))
    text.replace(at, 11, "dtype: bf16");
  const std::string bf16 = (dir / "bf16.plan.yaml").string();
  std::ofstream(bf16) << text;
  out = run(execute(2, bf16, output));
  EXPECT_EQ(out.status, 2) << out.text;
  const std::string message = "which the cpu backend lacks; it runs fp32";
  const auto at = out.text.find(message);
  EXPECT_NE(at, std::string::npos) << out.text;
  EXPECT_EQ(out.text.find(message, at + 1), std::string::npos) << "printed once: " << out.text;
  EXPECT_FALSE(std::filesystem::exists(output));
  std::filesystem::remove_all(dir);
}

// A compact plan file (`--dump-plan *.splan`, its stages' programs shared) runs as the scenario's
// plan does: the same ops on the same ranks.
TEST(ExecuteLoop, ACompactPlanFileRuns) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-compact");
  const std::string scenario = source + "/scenarios/cpu/4rank-tp2-pp2.yaml";
  const std::string plan = (dir / "plan.splan").string();
  Output out = run(scaleplan_binary + " run --catalog " + catalog + " " + scenario +
                   " --all-ranks --dump-plan " + plan);
  ASSERT_EQ(out.status, 0) << out.text;
  const std::string output = (dir / "m.json").string();
  out = run(execute(4, plan, output, " --warmup 0 --steps 1"));
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("executed " + plan + " on 4 ranks (cpu backend)"), std::string::npos)
      << out.text;
  std::ifstream summary_file(dir / "m.summary.json");
  EXPECT_EQ(nlohmann::json::parse(summary_file)["ranks"], 4);
  std::filesystem::remove_all(dir);
}

// Rank 1 never issues its first tensor-parallel all-reduce: rank 0 gives up after the timeout,
// names the op, its group and rank 1, writes what it measured and stops every rank.
TEST(ExecuteLoop, HungCollectiveIsAbortedNamingTheOpGroupAndMissingRank) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-hang");
  const std::string scenario = source + "/scenarios/cpu/2rank-tp2.yaml";
  const std::string plan_file = (dir / "plan.yaml").string();
  Output out = run(scaleplan_binary + " run --catalog " + catalog + " " + scenario +
                   " --dump-plan " + plan_file);
  ASSERT_EQ(out.status, 0) << out.text;
  const scaleplan::Plan plan = scaleplan::read_plan(plan_file);
  std::size_t first = 0;
  while (plan.ranks[1].ops[first].kind != scaleplan::OpKind::collective)
    ++first;
  const std::string output = (dir / "m.json").string();
  out = run(execute(2, scenario, output,
                    " --warmup 0 --steps 1 --timeout 2 --stall 1:" + std::to_string(first)));
  EXPECT_NE(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("rank 0: op " + std::to_string(first)), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("on group tp [0, 1], stream tp-comm) did not finish within"),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("ranks that had not arrived: 1"), std::string::npos) << out.text;
  EXPECT_TRUE(std::filesystem::exists(output + ".rank0.partial.json")) << out.text;
  std::filesystem::remove_all(dir);
}

// The collective benchmark with --plan times the plan's own message sizes, beyond the last size of
// its sweep: the data-parallel plan's gradient all-reduce (27.6 MB, past this machine's caches)
// would otherwise be extrapolated from messages a thousand times smaller.
TEST(ExecuteLoop, CollectiveBenchTimesThePlansMessageSizes) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-bench-sizes");
  const std::string plan_file = (dir / "plan.yaml").string();
  Output out = run(scaleplan_binary + " run --catalog " + catalog + " " + source +
                   "/scenarios/cpu/2rank-dp2.yaml --all-ranks --dump-plan " + plan_file);
  ASSERT_EQ(out.status, 0) << out.text;
  double largest = 0;
  for (const auto& rank : scaleplan::read_plan(plan_file).ranks) {
    for (const auto& op : rank.ops) {
      if (op.kind == scaleplan::OpKind::collective)
        largest = std::max(largest, op.bytes);
    }
  }
  ASSERT_GT(largest, 1e6);
  const std::string measurements = (dir / "mpi.yaml").string();
  out = run(mpirun(2) + SCALEPLAN_BENCH_MPI + " -o " + measurements +
            " -b 8 -e 64 -f 8 --collectives all-reduce --groups world --warmup 0 --iterations 1 "
            "--repeats 1 --plan " +
            plan_file);
  ASSERT_EQ(out.status, 0) << out.text;
  std::ifstream in(measurements);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The plan's size itself (fp32 elements: a multiple of 4 bytes), and the sweep carried on by
  // its factor up to it: 8, 64, then 512 B ... 16 MiB.
  EXPECT_NE(text.find("bytes: " + std::to_string(std::llround(largest)) + ","), std::string::npos)
      << text;
  EXPECT_NE(text.find("bytes: 16777216,"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

// A scenario whose ranks need more memory than its device holds is refused before any rank
// starts: the 2-rank data-parallel plan (weights, gradients and Adam state of 27.6 MB of
// parameters: 110 MB a rank, and activations) on a device of 64 MiB.
TEST(ExecuteLoop, RefusesAPlanLargerThanTheDevicesMemory) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-memory");
  std::ifstream in(catalog);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string from = "memory_bytes: {value: 4294967296,";
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "memory_bytes: {value: 67108864,");
  const std::string small = (dir / "small-catalog.yaml").string();
  std::ofstream(small) << text;
  const std::string output = (dir / "m.json").string();
  const Output out =
      run(mpirun(2) + scaleplan_binary + " execute " + source +
          "/scenarios/cpu/2rank-dp2.yaml --catalog " + small + " --backend cpu -o " + output);
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("but a cpu device holds 0.06711 GB"), std::string::npos) << out.text;
  EXPECT_FALSE(std::filesystem::exists(output));
  std::filesystem::remove_all(dir);
}

// Ctrl-C on mpirun (SIGINT; mpirun passes SIGTERM on to the ranks, as srun does): every rank
// stops between ops, writes what it measured and the job ends, long before its 100,000 steps.
// The signal is sent once both ranks have installed their handlers (SigCgt in /proc).
TEST(ExecuteLoop, CtrlCStopsEveryRankAndKeepsTheirMeasurements) {
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-interrupt");
  const std::string output = (dir / "m.json").string();
  const std::string job =
      execute(2, source + "/scenarios/cpu/2rank-tp2.yaml", output, " --warmup 0 --steps 100000");
  const std::string script = "(" + job +
                             ") & m=$!\n"
                             "ready=0\n"
                             "for i in $(seq 600); do\n"
                             "  ready=0\n"
                             "  for p in $(pgrep -P $m); do\n"
                             "    mask=$(awk '/^SigCgt/ {print $2}' /proc/$p/status 2>/dev/null)\n"
                             "    [ -n \"$mask\" ] && [ $(( 0x$mask & 0x4002 )) -eq $(( 0x4002 )) "
                             "] && ready=$((ready+1))\n"
                             "  done\n"
                             "  [ $ready -ge 2 ] && break\n"
                             "  sleep 0.1\n"
                             "done\n"
                             "echo \"ranks ready: $ready\"\n"
                             "sleep 1\n"
                             "kill -INT $m\n"
                             "wait $m\n"
                             "echo \"status $?\"\n";
  const std::string script_file = (dir / "interrupt.sh").string();
  std::ofstream(script_file) << script;
  const Output out = run("timeout 120 bash " + script_file);
  EXPECT_NE(out.text.find("ranks ready: 2"), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("status 0"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("interrupted"), std::string::npos) << out.text;
  // Each rank writes its partial trace before it ends the job; mpirun kills a rank that has not
  // ended a second after the signal, which a rank descheduled on a loaded machine may miss, so
  // one of the two must have written.
  int written = 0;
  for (const int rank : {0, 1})
    written += std::filesystem::exists(output + ".rank" + std::to_string(rank) + ".partial.json");
  EXPECT_GE(written, 1) << out.text;
  EXPECT_FALSE(std::filesystem::exists(output)) << out.text;
  std::filesystem::remove_all(dir);
}

}  // namespace
