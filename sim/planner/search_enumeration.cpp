#include "sim/planner/search_enumeration.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

namespace {

std::vector<std::int64_t> divisors(std::int64_t n) {
  std::vector<std::int64_t> out;
  for (std::int64_t d = 1; d * d <= n; ++d) {
    if (n % d != 0)
      continue;
    out.push_back(d);
    if (d != n / d)
      out.push_back(n / d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The listed values, or the defaults when the list is empty.
template <class T>
std::vector<T> or_defaults(const std::vector<T>& listed, std::vector<T> defaults) {
  return listed.empty() ? std::move(defaults) : listed;
}

template <class T>
bool allows(const std::vector<T>& listed, T value) {
  return listed.empty() || std::find(listed.begin(), listed.end(), value) != listed.end();
}

std::vector<int> int_divisors(std::int64_t n) {
  std::vector<int> out;
  for (std::int64_t d : divisors(n))
    out.push_back(static_cast<int>(d));
  return out;
}

}  // namespace

void check_search_space(const SearchSpace& space) {
  const auto degrees = [](const std::vector<int>& values, const char* axis) {
    for (int v : values) {
      if (v < 1)
        throw std::invalid_argument(fmt::format("search {}: {} is below 1", axis, v));
    }
  };
  degrees(space.tp, "tp");
  degrees(space.pp, "pp");
  degrees(space.dp, "dp");
  degrees(space.cp, "cp");
  degrees(space.ep, "ep");
  for (std::int64_t v : space.micro_batch) {
    if (v < 1)
      throw std::invalid_argument(fmt::format("search micro_batch: {} is below 1", v));
  }
  for (int v : space.virtual_stages) {
    if (v < 1)
      throw std::invalid_argument(fmt::format("search virtual_stages: {} is below 1", v));
  }
  for (int v : space.zero) {
    if (v < 0 || v > 3)
      throw std::invalid_argument(fmt::format("search zero: {} is not 0 to 3", v));
  }
}

std::vector<SearchShape> search_shapes(const SearchSpace& space, const ClusterSpec& cluster,
                                       const TrainingJob& base) {
  const std::int64_t devices = cluster.device_count();
  const TransformerConfig& m = base.model;
  const std::vector<int> all = int_divisors(devices);
  std::vector<SearchShape> shapes;
  for (int tp : or_defaults(space.tp, all)) {
    for (int cp : or_defaults(space.cp, all)) {
      if (devices % (static_cast<std::int64_t>(tp) * cp) != 0)
        continue;
      for (int pp : or_defaults(space.pp, all)) {
        const std::int64_t model_parallel = static_cast<std::int64_t>(tp) * cp * pp;
        if (devices % model_parallel != 0 || (space.pp.empty() && pp > m.layers))
          continue;
        const int dp = static_cast<int>(devices / model_parallel);
        if (!allows(space.dp, dp))
          continue;
        const std::vector<int> eps =
            or_defaults(space.ep, m.is_moe() ? int_divisors(dp) : std::vector<int>{1});
        for (int ep : eps) {
          const std::int64_t per_pipeline = base.training.global_batch / dp;
          const std::vector<std::int64_t> batches = base.training.global_batch % dp == 0
                                                        ? divisors(per_pipeline)
                                                        : std::vector<std::int64_t>{};
          for (std::int64_t mb : or_defaults(space.micro_batch, batches)) {
            const std::vector<bool> sps =
                or_defaults(space.sequence_parallel,
                            tp > 1 ? std::vector<bool>{false, true} : std::vector<bool>{false});
            for (bool sp : sps)
              shapes.push_back({tp, pp, dp, cp, ep, mb, sp});
          }
        }
      }
    }
  }
  return shapes;
}

std::vector<SearchVariant> search_variants(const SearchSpace& space, const SearchShape& shape,
                                           const TrainingJob& base) {
  using enum PipelineSchedule;
  const std::vector<PipelineSchedule> schedules =
      or_defaults(space.schedule,
                  shape.pp > 1 ? std::vector{gpipe, one_f_one_b, interleaved_1f1b, zero_bubble_h1}
                               : std::vector{one_f_one_b});
  std::vector<int> chunks = space.virtual_stages;
  if (chunks.empty()) {
    for (int v = 2; v <= max_default_virtual_stages && shape.pp * v <= base.model.layers; ++v)
      chunks.push_back(v);
  }
  ParallelismSpec degrees;
  degrees.tp = shape.tp;
  degrees.pp = shape.pp;
  degrees.dp = shape.dp;
  degrees.cp = shape.cp;
  degrees.ep = shape.ep;
  const bool replicated = replica_counts(degrees).dense > 1;
  const std::vector<int> zeros =
      or_defaults(space.zero, replicated ? std::vector{0, 1, 2, 3} : std::vector{0});
  const std::vector<Recompute> recomputes = or_defaults(
      space.recompute, std::vector{Recompute::none, Recompute::selective, Recompute::full});
  std::vector<SearchVariant> variants;
  for (PipelineSchedule schedule : schedules) {
    const std::vector<int> vs = schedule == interleaved_1f1b ? chunks : std::vector{1};
    for (int v : vs) {
      for (Recompute recompute : recomputes) {
        for (int zero : zeros)
          variants.push_back({schedule, v, recompute, zero});
      }
    }
  }
  return variants;
}

TrainingJob candidate_job(const TrainingJob& base, const SearchShape& shape,
                          const SearchVariant& variant) {
  TrainingJob job = base;
  ParallelismSpec& p = job.parallelism;
  p.tp = shape.tp;
  p.pp = shape.pp;
  p.dp = shape.dp;
  p.cp = shape.cp;
  p.ep = shape.ep;
  p.sequence_parallel = shape.sequence_parallel;
  p.schedule = variant.schedule;
  p.virtual_stages = variant.virtual_stages;
  p.recompute = variant.recompute;
  p.zero = variant.zero;
  // The search chooses the pipeline split (the even one, or the one balanced by layer time
  // where it simulates faster): a split written for another pp does not apply.
  p.stage_layers.clear();
  p.balance_by_time = false;
  job.training.micro_batch = shape.micro_batch;
  job.training.replica_micro_batch.clear();  // one micro-batch for every replica
  pad_vocabulary(job);  // as the candidate's tp asks, from the written vocabulary
  return job;
}

}  // namespace scaleplan
