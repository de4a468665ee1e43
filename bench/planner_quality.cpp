// How good the planner's fast estimate is: for each case (a scenario whose cluster, model and
// batch the planner searches), the plans of its search space that keep the rules and fit by the
// estimate, sampled evenly along the estimate's ranking (its best ten always among them), each
// estimated and simulated in full. Prints per case and over all: the step time's mean absolute
// percentage error and worst error against the simulation, Spearman's rank correlation between
// the two, and the same errors for the peak memory; and of the estimate's best ten, which the
// simulation ranks first (its place in the estimate's order) and how much slower the estimate's
// first is than that plan ("regret"). docs/planner.md quotes its output.
//
// Usage: planner_quality [--plans N] [--threads T] [--verbose] [SCENARIO...]
//   default: every file of bench/scenarios/planner-quality, 40 plans each, every core.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hardware/io/catalog.hpp"
#include "sim/planner/plan_estimate.hpp"
#include "sim/planner/search_enumeration.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace {

using namespace scaleplan;

struct Sample {
  TrainingJob job;
  PlanEstimate estimate;
  std::optional<Prediction> simulated;
};

std::vector<double> ranks_of(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]])
      ++j;
    // Ties share the mean of their ranks.
    for (std::size_t k = i; k <= j; ++k)
      ranks[order[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = ranks_of(a);
  const std::vector<double> rb = ranks_of(b);
  const double n = static_cast<double>(a.size());
  const double mean = (n - 1) / 2;
  double cov = 0, va = 0, vb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  return va > 0 && vb > 0 ? cov / std::sqrt(va * vb) : 1.0;
}

struct Errors {
  double mape = 0;
  double worst = 0;  // signed: estimate over simulation
};

Errors errors_of(const std::vector<double>& estimated, const std::vector<double>& simulated) {
  Errors e;
  for (std::size_t i = 0; i < estimated.size(); ++i) {
    const double error = (estimated[i] - simulated[i]) / simulated[i];
    e.mape += std::abs(error);
    if (std::abs(error) > std::abs(e.worst))
      e.worst = error;
  }
  e.mape /= static_cast<double>(std::max<std::size_t>(1, estimated.size()));
  return e;
}

// Every plan of the scenario's search space that keeps the rules and fits by the estimate,
// sorted by estimated step time, then `count` of them evenly spaced along that order (the best
// ten first).
std::vector<Sample> sample_plans(const Scenario& s, const ClusterNetwork& network,
                                 const ComputeModel& compute, std::size_t count) {
  const SearchSpace space = s.search.value_or(SearchSpace{});
  PlanEstimator estimator(s.cluster, network, compute, s.allocator_headroom_fraction);
  std::vector<Sample> all;
  for (const SearchShape& shape : search_shapes(space, s.cluster, s.job)) {
    for (const SearchVariant& variant : search_variants(space, shape, s.job)) {
      const TrainingJob job = candidate_job(s.job, shape, variant);
      if (!check_strategy(s.cluster, job).empty())
        continue;
      const PlanEstimate estimate = estimator.estimate(job);
      if (estimate.memory.fits)
        all.push_back({job, estimate, std::nullopt});
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const Sample& a, const Sample& b) {
    return a.estimate.step_time_s < b.estimate.step_time_s;
  });
  if (all.size() <= count)
    return all;
  std::vector<Sample> picked(all.begin(), all.begin() + 10);
  const std::size_t rest = count - 10;
  for (std::size_t k = 0; k < rest; ++k)
    picked.push_back(all[10 + k * (all.size() - 11) / (rest - 1)]);
  return picked;
}

void simulate(const Scenario& s, const ClusterNetwork& network, const ComputeModel& compute,
              std::vector<Sample>& samples, int threads) {
  std::atomic<std::size_t> next{0};
  const RunSettings settings = run_settings(s);
  const auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < samples.size();) {
      samples[i].simulated = predict({s.cluster, samples[i].job, compute, network, settings});
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(worker);
  for (std::thread& t : pool)
    t.join();
}

// One line per plan: its settings, then the estimate and the simulation, each as step time,
// compute, exposed communication, bubble and peak memory.
void print_sample(const Sample& x) {
  const ParallelismSpec& p = x.job.parallelism;
  const PlanEstimate& e = x.estimate;
  const Prediction& s = *x.simulated;
  constexpr double gib = 1024.0 * 1024 * 1024;
  std::printf(
      "  tp %d pp %d dp %d cp %d ep %d mb %lld %s x%d %s z%d sp%d | est %.3f (%.3f %.3f %.3f) "
      "%.1f GiB | sim %.3f (%.3f %.3f %.3f) %.1f GiB\n",
      p.tp, p.pp, p.dp, p.cp, p.ep, static_cast<long long>(x.job.training.micro_batch),
      std::string(to_string(p.schedule)).c_str(), p.virtual_stages,
      std::string(to_string(p.recompute)).c_str(), p.zero, p.sequence_parallel ? 1 : 0,
      e.step_time_s, e.compute_s, e.exposed_comm_s, e.bubble_s, e.memory.peak_bytes / gib,
      s.step_time_s, s.breakdown.compute_s, s.breakdown.exposed_comm_s, s.breakdown.bubble_s,
      s.memory.peak_bytes / gib);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t plans = 40;
  bool verbose = false;
  int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--plans" && i + 1 < argc)
      plans = std::max<std::size_t>(12, std::stoul(argv[++i]));
    else if (arg == "--verbose")
      verbose = true;
    else if (arg == "--threads" && i + 1 < argc)
      threads = std::max(1, std::stoi(argv[++i]));
    else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: planner_quality [--plans N] [--threads T] [--verbose] [SCENARIO...]\n"
          "  default: every file of bench/scenarios/planner-quality, 40 plans each, "
          "every core\n");
      return 0;
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "planner_quality: unknown option %s (try --help)\n", arg.c_str());
      return 2;
    } else
      files.emplace_back(arg);
  }
  if (files.empty()) {
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(SCALEPLAN_SOURCE_DIR) / "bench/scenarios/planner-quality"))
      files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  }
  const Catalog& catalog = Catalog::builtin();
  std::vector<double> all_estimated, all_simulated, all_memory_estimated, all_memory_simulated;
  std::vector<double> spearmans;
  std::printf("%-36s %6s %8s %9s %9s %8s %9s %6s %8s\n", "case", "plans", "MAPE %", "worst %",
              "Spearman", "mem MAPE", "mem worst", "best@", "regret %");
  std::vector<double> regrets;
  for (const auto& file : files) {
    const Scenario s = load_scenario(file, catalog, ScenarioUse::plan);
    const ClusterNetwork network = prepare_network(s, catalog);
    const Profile* profile = s.profile ? &*s.profile : nullptr;
    const auto compute = make_compute_model(s.cluster.device, profile, s.calibration.value_or(""));
    std::vector<Sample> samples = sample_plans(s, network, *compute, plans);
    simulate(s, network, *compute, samples, threads);
    std::vector<double> est, sim, mem_est, mem_sim;
    for (const Sample& x : samples) {
      est.push_back(x.estimate.step_time_s);
      sim.push_back(x.simulated->step_time_s);
      mem_est.push_back(x.estimate.memory.peak_bytes);
      mem_sim.push_back(x.simulated->memory.peak_bytes);
      if (verbose)
        print_sample(x);
    }
    const Errors time = errors_of(est, sim);
    const Errors memory = errors_of(mem_est, mem_sim);
    const double rho = spearman(est, sim);
    spearmans.push_back(rho);
    // The samples start with the estimate's best ten, in its order.
    const auto top =
        sim.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(10, sim.size()));
    const auto best = std::min_element(sim.begin(), top);
    const double regret = sim.front() / *best - 1;
    regrets.push_back(regret);
    std::printf("%-36s %6zu %8.2f %+9.1f %9.3f %8.2f %+9.1f %6td %8.2f\n", s.name.c_str(),
                samples.size(), 100 * time.mape, 100 * time.worst, rho, 100 * memory.mape,
                100 * memory.worst, best - sim.begin() + 1, 100 * regret);
    std::fflush(stdout);
    all_estimated.insert(all_estimated.end(), est.begin(), est.end());
    all_simulated.insert(all_simulated.end(), sim.begin(), sim.end());
    all_memory_estimated.insert(all_memory_estimated.end(), mem_est.begin(), mem_est.end());
    all_memory_simulated.insert(all_memory_simulated.end(), mem_sim.begin(), mem_sim.end());
  }
  const Errors time = errors_of(all_estimated, all_simulated);
  const Errors memory = errors_of(all_memory_estimated, all_memory_simulated);
  std::printf("%-36s %6zu %8.2f %+9.1f %9.3f %8.2f %+9.1f\n", "all (Spearman: pooled)",
              all_estimated.size(), 100 * time.mape, 100 * time.worst,
              spearman(all_estimated, all_simulated), 100 * memory.mape, 100 * memory.worst);
  std::printf("regret of the estimate's first among its best ten: mean %.2f %%, worst %.2f %%\n",
              100 * std::accumulate(regrets.begin(), regrets.end(), 0.0) /
                  static_cast<double>(std::max<std::size_t>(1, regrets.size())),
              regrets.empty() ? 0.0 : 100 * *std::max_element(regrets.begin(), regrets.end()));
  std::printf("Spearman per case: mean %.3f, lowest %.3f\n",
              std::accumulate(spearmans.begin(), spearmans.end(), 0.0) /
                  static_cast<double>(std::max<std::size_t>(1, spearmans.size())),
              spearmans.empty() ? 0.0 : *std::min_element(spearmans.begin(), spearmans.end()));
  return 0;
}
