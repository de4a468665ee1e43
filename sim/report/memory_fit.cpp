#include "sim/report/memory_fit.hpp"

#include <algorithm>
#include <functional>
#include <optional>

#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

// A job changed in one or more settings, and the change as scenario keys.
struct Candidate {
  std::string change;
  TrainingJob job;
};

// The ways one setting can change, smallest change first.
using Setting = std::function<std::vector<Candidate>(const ClusterSpec&, const TrainingJob&)>;

std::vector<Candidate> zero_stages(const ClusterSpec&, const TrainingJob& job) {
  std::vector<Candidate> out;
  if (job.parallelism.dp < 2)
    return out;  // nothing to shard over
  for (int stage = job.parallelism.zero + 1; stage <= 3; ++stage) {
    TrainingJob changed = job;
    changed.parallelism.zero = stage;
    out.push_back({"parallelism.zero: " + std::to_string(stage), changed});
  }
  return out;
}

std::vector<Candidate> sequence_parallelism(const ClusterSpec&, const TrainingJob& job) {
  if (job.parallelism.tp < 2 || job.parallelism.sequence_parallel)
    return {};
  TrainingJob changed = job;
  changed.parallelism.sequence_parallel = true;
  return {{"parallelism.sequence_parallel: true", changed}};
}

std::vector<Candidate> recompute(const ClusterSpec&, const TrainingJob& job) {
  std::vector<Candidate> out;
  for (Recompute r : {Recompute::selective, Recompute::full}) {
    if (r <= job.parallelism.recompute)
      continue;
    TrainingJob changed = job;
    changed.parallelism.recompute = r;
    out.push_back({"parallelism.recompute: " + std::string(to_string(r)), changed});
  }
  return out;
}

std::vector<Candidate> smaller_micro_batches(const ClusterSpec&, const TrainingJob& job) {
  std::vector<Candidate> out;
  for (std::int64_t mb = job.training.micro_batch - 1; mb >= 1; --mb) {
    if (job.training.micro_batch % mb != 0)
      continue;
    TrainingJob changed = job;
    changed.training.micro_batch = mb;
    out.push_back({"training.micro_batch: " + std::to_string(mb), changed});
  }
  return out;
}

// tp or pp doubled, and doubled again, the data-parallel degree shrinking to keep the devices.
std::vector<Candidate> doubled_degree(const ClusterSpec& cluster, const TrainingJob& job,
                                      int ParallelismSpec::*degree, const char* key, int limit) {
  std::vector<Candidate> out;
  for (int d = job.parallelism.*degree * 2; d <= limit; d *= 2) {
    TrainingJob changed = job;
    changed.parallelism.*degree = d;
    changed.parallelism.dp = fitting_data_parallel_degree(cluster, changed.parallelism);
    out.push_back({std::string(key) + ": " + std::to_string(d) +
                       " (dp: " + std::to_string(changed.parallelism.dp) + ")",
                   changed});
  }
  return out;
}

// tp up to a node's devices: the smallest node's where node groups differ in size.
std::vector<Candidate> tensor_parallel(const ClusterSpec& cluster, const TrainingJob& job) {
  int per_node = cluster.node_groups.empty() ? cluster.devices_per_node : 1024;
  for (const NodeGroup& g : cluster.node_groups)
    per_node = std::min(per_node, cluster.shape_of_group(g).devices);
  return doubled_degree(cluster, job, &ParallelismSpec::tp, "parallelism.tp", per_node);
}

std::vector<Candidate> pipeline_parallel(const ClusterSpec& cluster, const TrainingJob& job) {
  return doubled_degree(cluster, job, &ParallelismSpec::pp, "parallelism.pp",
                        cluster.device_count());
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all{zero_stages,     sequence_parallelism,
                                        recompute,       smaller_micro_batches,
                                        tensor_parallel, pipeline_parallel};
  return all;
}

}  // namespace

MemoryBreakdown peak_memory(const ClusterSpec& cluster, const TrainingJob& job,
                            double allocator_headroom_fraction) {
  const Plan plan = build_plan(job, RankScope::one_replica);
  const std::vector<MemoryBreakdown> ranks = memory_by_rank(
      plan, activation_peak_bytes(plan), cluster.device, allocator_headroom_fraction);
  MemoryBreakdown highest = ranks.front();
  for (const MemoryBreakdown& m : ranks) {
    if (m.peak_bytes > highest.peak_bytes)
      highest = m;
  }
  return highest;
}

std::vector<MemoryFitChange> changes_that_fit(const PredictionInputs& inputs, std::size_t count) {
  const ClusterSpec& cluster = inputs.cluster;
  const double headroom = inputs.settings.allocator_headroom_fraction;
  // The first candidate of `options` that is valid and fits.
  const auto first_fitting =
      [&](const std::vector<Candidate>& options) -> std::optional<MemoryFitChange> {
    for (const Candidate& c : options) {
      if (!check_strategy(cluster, c.job).empty())
        continue;
      const MemoryBreakdown memory = peak_memory(cluster, c.job, headroom);
      if (memory.fits)
        return MemoryFitChange{c.change, c.job, memory, 0};
    }
    return std::nullopt;
  };
  std::vector<MemoryFitChange> found;
  for (const Setting& setting : settings()) {
    if (auto change = first_fitting(setting(cluster, inputs.job)))
      found.push_back(std::move(*change));
  }
  if (found.empty()) {
    // Two settings at once: each way of changing the first, then the smallest fitting change of
    // the second on top of it.
    const auto& all = settings();
    for (std::size_t a = 0; a < all.size(); ++a) {
      for (std::size_t b = a + 1; b < all.size(); ++b) {
        for (const Candidate& first : all[a](cluster, inputs.job)) {
          std::vector<Candidate> both;
          for (Candidate second : all[b](cluster, first.job)) {
            second.change = first.change + ", " + second.change;
            both.push_back(std::move(second));
          }
          if (auto change = first_fitting(both)) {
            found.push_back(std::move(*change));
            break;
          }
        }
      }
    }
  }
  // Simulating is what costs: at most twice as many as asked for, in the settings' order.
  if (found.size() > 2 * count)
    found.resize(2 * count);
  for (MemoryFitChange& change : found) {
    change.step_time_s = predict(PredictionInputs{inputs.cluster, change.job, inputs.compute,
                                                  inputs.network, inputs.settings})
                             .step_time_s;
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const MemoryFitChange& a, const MemoryFitChange& b) {
                     return a.step_time_s < b.step_time_s;
                   });
  if (found.size() > count)
    found.resize(count);
  return found;
}

}  // namespace scaleplan
