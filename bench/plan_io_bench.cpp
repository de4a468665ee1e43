// The plan file formats timed (bench/README.md): write and read rates, in MB/s and ops/s, of the
// YAML and the compact format (docs/plan-format.md) on the plans of GPT-3 175B on 1,024 A100
// (bench/scenarios/gpt3-175b-1024xa100.yaml as values: tp 8, pp 8 interleaved by 2, dp 16, batch
// 1,536):
//   - every rank, as `run --all-ranks --dump-plan` writes it: the ranks of a stage share their
//     stage's program, which the compact format keeps and YAML writes out for each rank;
//   - one data-parallel replica (64 ranks), every program its own copy (Plan::unshare): the most
//     op records a file of this job holds per rank;
//   - one replica of the same job with a batch small enough for the YAML reader (about 240,000
//     ops), read in both formats.
// Writes go to a stream that counts and keeps nothing (the formatting is timed, not the disk);
// reads come from files written before into a temporary folder, through `read_plan`, validation
// included. "ops" are the ops the plan runs (a shared program's for every rank that runs it);
// "records" the op records a compact file holds. Rates are per CPU second; wall time is printed
// beside (the machine may be shared). A program, not Google Benchmark: one run is a minute or so.
//   plan_io_bench [--yaml-every-rank]   also write every rank's YAML (2.6 GB of text, a minute)
//   plan_io_bench --compact-only        the compact format alone (seconds)
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <streambuf>
#include <string>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace {

using namespace scaleplan;

// GPT-3 175B in Megatron-LM's layout for 1,024 GPUs (Narayanan et al., SC'21, table 1), as
// bench/predict_bench.cpp builds it.
TrainingJob gpt3_175b_job(std::int64_t global_batch) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-175b");
  job.training.global_batch = global_batch;
  job.training.micro_batch = 1;
  job.training.dtype = Dtype::bf16;
  job.parallelism.tp = 8;
  job.parallelism.pp = 8;
  job.parallelism.dp = 16;
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 2;
  job.parallelism.recompute = Recompute::full;
  return job;
}

// Counts what is written and keeps nothing.
class CountingBuffer : public std::streambuf {
 public:
  std::uint64_t bytes = 0;

 protected:
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += static_cast<std::uint64_t>(n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof())
      ++bytes;
    return traits_type::not_eof(c);
  }
};

double cpu_s() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

// Resident memory now, in MB (Linux).
double rss_mb() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

struct Timed {
  double cpu_s = 0;
  double wall_s = 0;
};

Timed timed(const std::function<void()>& work) {
  const double cpu0 = cpu_s();
  const auto wall0 = std::chrono::steady_clock::now();
  work();
  return {cpu_s() - cpu0,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count()};
}

std::uint64_t ops_run(const Plan& plan) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    n += plan.ops_of(i).size();
  return n;
}

std::uint64_t op_records(const Plan& plan) {
  std::uint64_t n = 0;
  for (const RankProgram& program : plan.ranks)
    n += program.ops.size();
  return n;
}

void print_rate(const char* what, std::uint64_t bytes, std::uint64_t ops, std::uint64_t records,
                Timed t) {
  std::printf(
      "  %-22s %9.1f MB  %8.3f s CPU (%7.3f s wall)  %8.1f MB/s  %7.2f M ops/s  %7.2f "
      "M records/s\n",
      what, static_cast<double>(bytes) / 1e6, t.cpu_s, t.wall_s,
      static_cast<double>(bytes) / 1e6 / t.cpu_s, static_cast<double>(ops) / 1e6 / t.cpu_s,
      static_cast<double>(records) / 1e6 / t.cpu_s);
}

std::uint64_t written_bytes(const Plan& plan, PlanFileFormat format, Timed& t) {
  CountingBuffer sink;
  std::ostream out(&sink);
  t = timed([&] { write_plan(plan, out, format); });
  return sink.bytes;
}

// Writes `plan` in `format` (timed into a counting stream), then to `path`, and reads it back.
void bench_format(const std::string& name, const Plan& plan, PlanFileFormat format,
                  const std::filesystem::path& path, bool read) {
  const std::uint64_t ops = ops_run(plan);
  const std::uint64_t records = format == PlanFileFormat::compact ? op_records(plan) : ops;
  Timed write_time;
  const std::uint64_t bytes = written_bytes(plan, format, write_time);
  print_rate((name + " write").c_str(), bytes, ops, records, write_time);
  if (!read)
    return;
  if (format == PlanFileFormat::yaml && plan_yaml_values(plan) > max_yaml_nodes) {
    std::printf("  %-22s refused: %llu YAML values, more than the reader's %llu\n",
                (name + " read").c_str(), static_cast<unsigned long long>(plan_yaml_values(plan)),
                static_cast<unsigned long long>(max_yaml_nodes));
    return;
  }
  {
    std::ofstream out(path, std::ios::binary);
    write_plan(plan, out, format);
  }
  const double rss_before = rss_mb();
  Plan back;
  const Timed read_time = timed([&] { back = read_plan(path); });
  print_rate((name + " read").c_str(), bytes, ops, records, read_time);
  const Timed validation = timed([&] { validate_plan(back); });
  std::printf(
      "  %-22s resident memory %+.0f MB for the plan read (%.0f MB in all); of the read, "
      "validate_plan %.3f s CPU\n",
      "", rss_mb() - rss_before, rss_mb(), validation.cpu_s);
  std::filesystem::remove(path);
}

void describe(const char* title, const Plan& plan) {
  std::printf("\n%s: %zu listed ranks, %llu ops run, %llu op records held, %llu YAML values\n",
              title, plan.ranks.size(), static_cast<unsigned long long>(ops_run(plan)),
              static_cast<unsigned long long>(op_records(plan)),
              static_cast<unsigned long long>(plan_yaml_values(plan)));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string option = argc > 1 ? argv[1] : "";
  const bool yaml_every_rank = option == "--yaml-every-rank";
  const bool yaml = option != "--compact-only";
  const auto dir = std::filesystem::temp_directory_path() /
                   ("plan_io_bench-" + std::to_string(static_cast<long>(getpid())));
  std::filesystem::create_directories(dir);

  {
    const Plan plan = build_plan(gpt3_175b_job(1536), RankScope::all_ranks);
    describe("GPT-3 175B, 1,024 A100, every rank (stages share programs)", plan);
    bench_format("compact", plan, PlanFileFormat::compact, dir / "every-rank.splan", true);
    if (yaml_every_rank)
      bench_format("yaml", plan, PlanFileFormat::yaml, dir / "every-rank.yaml", true);
    else if (yaml)
      std::printf("  %-22s (--yaml-every-rank: about 2.6 GB of text; the reader refuses it)\n",
                  "yaml write");
  }
  {
    Plan plan = build_plan(gpt3_175b_job(1536), RankScope::one_replica);
    plan.unshare();
    describe("GPT-3 175B, 1,024 A100, one replica of 64 ranks, every program its own", plan);
    bench_format("compact", plan, PlanFileFormat::compact, dir / "replica.splan", true);
    if (yaml)
      bench_format("yaml", plan, PlanFileFormat::yaml, dir / "replica.yaml", true);
  }
  {
    // The largest batch (a multiple of dp) whose one-replica plan the YAML reader takes.
    std::int64_t batch = 1536;
    Plan plan = build_plan(gpt3_175b_job(batch), RankScope::one_replica);
    while (plan_yaml_values(plan) > max_yaml_nodes && batch > 16) {
      batch /= 2;
      plan = build_plan(gpt3_175b_job(batch), RankScope::one_replica);
    }
    plan.unshare();
    describe(fmt::format("The same with batch {}, within the YAML reader's limit", batch).c_str(),
             plan);
    bench_format("compact", plan, PlanFileFormat::compact, dir / "small.splan", true);
    if (yaml)
      bench_format("yaml", plan, PlanFileFormat::yaml, dir / "small.yaml", true);
  }
  std::filesystem::remove_all(dir);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("\npeak resident memory %.0f MB\n", static_cast<double>(usage.ru_maxrss) / 1e3);
  return 0;
}
