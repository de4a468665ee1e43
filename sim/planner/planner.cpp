#include "sim/planner/planner.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "hardware/input/parallel_for.hpp"
#include "sim/planner/search_enumeration.hpp"
#include "sim/scenario/stage_balance.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Per-step cost and energy at the rates the options give or the catalog's.
struct Rates {
  double usd_per_device_hour = 0;
  double watts_per_device = 0;
  int devices = 1;
};

Rates rates_of(const SearchOptions& options, const ClusterSpec& cluster) {
  Rates r;
  r.devices = cluster.device_count();
  const DeviceSpec& device = cluster.device;
  if (options.usd_per_device_hour) {
    r.usd_per_device_hour = *options.usd_per_device_hour;
  } else if (device.price_usd_per_hour) {
    r.usd_per_device_hour = device.price_usd_per_hour->value;
  } else if (options.objective == PlanObjective::cost) {
    throw std::invalid_argument("the cost objective needs a price: " + device.name +
                                " has no price per hour in the catalog; give one");
  }
  r.watts_per_device = options.watts_per_device.value_or(device.power_w.value);
  return r;
}

void price(RankedPlan& plan, double step_time_s, const Rates& rates, PlanObjective objective) {
  plan.step_time_s = step_time_s;
  plan.cost_usd = step_time_s / 3600 * rates.usd_per_device_hour * rates.devices;
  plan.energy_j = step_time_s * rates.watts_per_device * rates.devices;
  plan.objective = objective == PlanObjective::time   ? plan.step_time_s
                   : objective == PlanObjective::cost ? plan.cost_usd
                                                      : plan.energy_j;
}

bool better(const RankedPlan& a, const RankedPlan& b) {
  return a.objective != b.objective ? a.objective < b.objective : a.index < b.index;
}

// The best `keep` plans seen, best first once sorted.
class BestList {
 public:
  explicit BestList(std::size_t keep) : keep_(keep) {}
  void offer(RankedPlan plan) {
    if (plans_.size() == keep_ && !better(plan, plans_.front()))
      return;
    plans_.push_back(std::move(plan));
    std::push_heap(plans_.begin(), plans_.end(), better);
    if (plans_.size() > keep_) {
      std::pop_heap(plans_.begin(), plans_.end(), better);
      plans_.pop_back();
    }
  }
  std::vector<RankedPlan>& plans() { return plans_; }

 private:
  std::size_t keep_;
  std::vector<RankedPlan> plans_;  // a max-heap by `better`: the worst kept at the front
};

bool same_layout(const SearchShape& a, const SearchShape& b) {
  return a.tp == b.tp && a.pp == b.pp && a.dp == b.dp && a.cp == b.cp && a.ep == b.ep;
}

struct Shape {
  SearchShape shape;
  std::vector<SearchVariant> variants;
  std::uint64_t first_index = 0;
};

// What one worker thread found while estimating.
struct WorkerResult {
  BestList best;
  SearchCounts counts;
  double cpu_s = 0;
};

class Search {
 public:
  Search(const SearchSpace& space, const ClusterSpec& cluster, const ClusterNetwork& network,
         const ComputeModel& compute, const TrainingJob& base, const SearchOptions& options)
      : cluster_(cluster),
        network_(network),
        compute_(compute),
        base_(base),
        options_(options),
        rates_(rates_of(options, cluster)),
        threads_(worker_threads(options.threads)),
        keep_(static_cast<std::size_t>(std::max(1, options.top_k)) * 3) {
    check_search_space(space);
    for (const SearchShape& shape : search_shapes(space, cluster, base)) {
      const bool same_degrees = !shapes_.empty() && same_layout(shapes_.back().shape, shape);
      if (!same_degrees)
        unit_starts_.push_back(shapes_.size());
      Shape s{shape, search_variants(space, shape, base), total_};
      total_ += s.variants.size();
      shapes_.push_back(std::move(s));
    }
    unit_starts_.push_back(shapes_.size());
  }

  PlanSearch run();

 private:
  void estimate_worker(WorkerResult& result, bool reporting);
  void estimate_shape(const Shape& shape, PlanEstimator& estimator, TrainingJob& job,
                      WorkerResult& result);
  // Simulates `plans` (in place) on every thread.
  void simulate(std::vector<RankedPlan*> plans, bool& cancelled);
  // A pipeline plan (pp > 1, not interleaved) simulated with the even split is simulated again
  // with the split balanced by layer time (balanced_stage_layers), and keeps it where its step is
  // shorter and it fits as well.
  void use_balanced_split(RankedPlan& plan) const;
  void report(SearchPhase phase, std::uint64_t done, std::uint64_t total, bool force);

  const ClusterSpec& cluster_;
  const ClusterNetwork& network_;
  const ComputeModel& compute_;
  const TrainingJob& base_;
  const SearchOptions& options_;
  const Rates rates_;
  const int threads_;
  const std::size_t keep_;
  std::vector<Shape> shapes_;
  // A thread takes the shapes of one layout of degrees at a time (from unit_starts_[i] to
  // unit_starts_[i + 1]), so that the collectives its estimator prices for the layout serve
  // every micro-batch of it.
  std::vector<std::size_t> unit_starts_;
  std::uint64_t total_ = 0;
  std::atomic<std::size_t> next_unit_{0};
  std::atomic<std::uint64_t> done_{0};
  Clock::time_point last_report_{};
};

void Search::report(SearchPhase phase, std::uint64_t done, std::uint64_t total, bool force) {
  if (!options_.progress)
    return;
  const auto now = Clock::now();
  if (!force && now - last_report_ < std::chrono::milliseconds(200))
    return;
  last_report_ = now;
  options_.progress({phase, done, total});
}

void Search::estimate_shape(const Shape& shape, PlanEstimator& estimator, TrainingJob& job,
                            WorkerResult& result) {
  // The least demanding variant breaks every rule that any variant of the shape breaks (a
  // degree, the batch, the plan's size): one check stands for all of them.
  job = candidate_job(base_, shape.shape, SearchVariant{});
  if (!check_strategy(cluster_, job).empty()) {
    result.counts.pruned_by_rule += shape.variants.size();
    return;
  }
  struct Fitting {
    const SearchVariant* variant;
    PlanEstimate estimate;
    std::uint64_t index;
  };
  std::vector<Fitting> fitting;
  std::uint64_t index = shape.first_index;
  for (const SearchVariant& v : shape.variants) {
    ParallelismSpec& p = job.parallelism;
    p.schedule = v.schedule;
    p.virtual_stages = v.virtual_stages;
    p.recompute = v.recompute;
    p.zero = v.zero;
    const std::uint64_t this_index = index++;
    if (!check_strategy(cluster_, job).empty()) {
      ++result.counts.pruned_by_rule;
      continue;
    }
    const PlanEstimate estimate = estimator.estimate(job);
    if (!estimate.memory.fits) {
      ++result.counts.pruned_by_memory;
      continue;
    }
    ++result.counts.estimated;
    fitting.push_back({&v, estimate, this_index});
  }
  // Variants that take the same time (ZeRO 1 and 2, selective recompute that recomputes nothing
  // under fused attention) are one plan for the ranking: the one with the least memory stands
  // for them, the first enumerated among equals.
  for (std::size_t i = 0; i < fitting.size(); ++i) {
    const Fitting& f = fitting[i];
    const bool beaten = std::any_of(fitting.begin(), fitting.end(), [&](const Fitting& g) {
      return g.estimate.step_time_s == f.estimate.step_time_s &&
             (g.estimate.memory.peak_bytes < f.estimate.memory.peak_bytes ||
              (g.estimate.memory.peak_bytes == f.estimate.memory.peak_bytes && g.index < f.index));
    });
    if (beaten) {
      ++result.counts.same_time_more_memory;
      continue;
    }
    RankedPlan plan;
    plan.estimate = f.estimate;
    plan.index = f.index;
    price(plan, plan.estimate.step_time_s, rates_, options_.objective);
    if (result.best.plans().size() == keep_ && !better(plan, result.best.plans().front()))
      continue;
    plan.job = candidate_job(base_, shape.shape, *f.variant);
    result.best.offer(std::move(plan));
  }
}

void Search::estimate_worker(WorkerResult& result, bool reporting) {
  const double cpu_start = thread_cpu_s();
  PlanEstimator estimator(cluster_, network_, compute_,
                          options_.settings.allocator_headroom_fraction);
  TrainingJob job = base_;
  for (;;) {
    if (options_.stop.stop_requested())
      break;
    const std::size_t unit = next_unit_.fetch_add(1);
    if (unit + 1 >= unit_starts_.size())
      break;
    for (std::size_t i = unit_starts_[unit]; i < unit_starts_[unit + 1]; ++i) {
      estimate_shape(shapes_[i], estimator, job, result);
      done_ += shapes_[i].variants.size();
    }
    if (reporting)
      report(SearchPhase::estimating, done_.load(), total_, false);
  }
  result.cpu_s = thread_cpu_s() - cpu_start;
}

void Search::use_balanced_split(RankedPlan& plan) const {
  const ParallelismSpec& p = plan.job.parallelism;
  // With more stages than layers the end stages hold the embedding or the head alone: nothing
  // to move.
  if (p.pp < 2 || p.schedule == PipelineSchedule::interleaved_1f1b || !p.stage_layers.empty() ||
      plan.job.model.layers < p.pp)
    return;
  TrainingJob balanced = plan.job;
  balanced.parallelism.stage_layers = cluster_.ranks_differ()
                                          ? balanced_stage_layers(plan.job, cluster_)
                                          : balanced_stage_layers(plan.job, compute_);
  if (balanced.parallelism.stage_layers == chunk_layers(plan.job.model.layers, p.pp) ||
      !check_strategy(cluster_, balanced).empty())
    return;
  Prediction simulated = predict({cluster_, balanced, compute_, network_, options_.settings});
  const bool fits_as_well = simulated.memory.fits || !plan.simulated->memory.fits;
  if (fits_as_well && simulated.step_time_s < plan.simulated->step_time_s) {
    plan.job = std::move(balanced);
    plan.simulated = std::move(simulated);
  }
}

void Search::simulate(std::vector<RankedPlan*> plans, bool& cancelled) {
  std::atomic<std::size_t> finished{0};
  parallel_for(
      plans.size(), threads_,
      [&](std::size_t i, int worker) {
        RankedPlan& plan = *plans[i];
        try {
          plan.simulated = predict({cluster_, plan.job, compute_, network_, options_.settings});
          use_balanced_split(plan);
        } catch (const std::exception&) {
          // A plan the simulator cannot run (a deadlock it reports) is left unsimulated; the
          // search counts it and moves on.
          plan.simulated.reset();
        }
        ++finished;
        if (worker == 0)
          report(SearchPhase::simulating, finished.load(), plans.size(), false);
      },
      [&] { return options_.stop.stop_requested(); });
  cancelled = cancelled || options_.stop.stop_requested();
}

PlanSearch Search::run() {
  const auto start = Clock::now();
  PlanSearch out;
  out.timings.threads = threads_;
  out.counts.enumerated = total_;

  std::vector<WorkerResult> results;
  for (int t = 0; t < threads_; ++t)
    results.push_back({BestList(keep_), {}, 0});
  {
    std::vector<std::thread> helpers;
    for (int t = 1; t < threads_; ++t)
      helpers.emplace_back(
          [&, t] { estimate_worker(results[static_cast<std::size_t>(t)], false); });
    estimate_worker(results[0], true);
    for (std::thread& t : helpers)
      t.join();
  }
  BestList best(keep_);
  for (WorkerResult& r : results) {
    out.counts.pruned_by_rule += r.counts.pruned_by_rule;
    out.counts.pruned_by_memory += r.counts.pruned_by_memory;
    out.counts.estimated += r.counts.estimated;
    out.counts.same_time_more_memory += r.counts.same_time_more_memory;
    out.timings.estimate_cpu_s += r.cpu_s;
    for (RankedPlan& plan : r.best.plans())
      best.offer(std::move(plan));
  }
  std::vector<RankedPlan> candidates = std::move(best.plans());
  std::sort(candidates.begin(), candidates.end(), better);
  out.cancelled = options_.stop.stop_requested();
  out.timings.estimate_s = seconds_since(start);
  report(SearchPhase::estimating, done_.load(), total_, true);

  // Simulate the best estimates until top_k of them fit, in batches of what is still missing,
  // so that which plans are simulated does not depend on the threads.
  const auto simulate_start = Clock::now();
  const auto wanted = static_cast<std::size_t>(std::max(0, options_.top_k));
  std::size_t next = 0;
  std::vector<RankedPlan> fitting;
  while (!out.cancelled && fitting.size() < wanted && next < candidates.size()) {
    const std::size_t batch = std::min(wanted - fitting.size(), candidates.size() - next);
    std::vector<RankedPlan*> plans;
    for (std::size_t i = next; i < next + batch; ++i)
      plans.push_back(&candidates[i]);
    simulate(plans, out.cancelled);
    for (std::size_t i = next; i < next + batch; ++i) {
      RankedPlan& plan = candidates[i];
      if (!plan.simulated)
        continue;
      ++out.counts.simulated;
      if (!plan.simulated->memory.fits) {
        ++out.counts.simulated_over_memory;
        continue;
      }
      price(plan, plan.simulated->step_time_s, rates_, options_.objective);
      fitting.push_back(std::move(plan));
    }
    next += batch;
  }
  report(SearchPhase::simulating, out.counts.simulated, out.counts.simulated, true);
  std::sort(fitting.begin(), fitting.end(), better);
  out.ranked = std::move(fitting);
  for (std::size_t i = next; i < candidates.size() && out.estimated_only.size() < wanted; ++i)
    out.estimated_only.push_back(std::move(candidates[i]));
  out.timings.simulate_s = seconds_since(simulate_start);
  out.timings.total_s = seconds_since(start);
  report(SearchPhase::done, out.counts.simulated, out.counts.simulated, true);
  return out;
}

// The settings that differ, "pp 4 against 8, mb 1 against 2".
std::string differences(const TrainingJob& a, const TrainingJob& b) {
  const ParallelismSpec& p = a.parallelism;
  const ParallelismSpec& q = b.parallelism;
  std::vector<std::string> out;
  const auto compare = [&](const char* name, auto x, auto y) {
    if (x != y)
      out.push_back(fmt::format("{} {} against {}", name, x, y));
  };
  compare("tp", p.tp, q.tp);
  compare("pp", p.pp, q.pp);
  compare("dp", p.dp, q.dp);
  compare("cp", p.cp, q.cp);
  compare("ep", p.ep, q.ep);
  compare("micro_batch", a.training.micro_batch, b.training.micro_batch);
  const auto schedule = [](const ParallelismSpec& s) {
    return s.schedule == PipelineSchedule::interleaved_1f1b
               ? fmt::format("{} x{}", to_string(s.schedule), s.virtual_stages)
               : std::string(to_string(s.schedule));
  };
  compare("schedule", schedule(p), schedule(q));
  compare("recompute", to_string(p.recompute), to_string(q.recompute));
  compare("zero", p.zero, q.zero);
  compare("sequence_parallel", p.sequence_parallel, q.sequence_parallel);
  std::string text;
  for (const std::string& d : out)
    text += (text.empty() ? "" : ", ") + d;
  return text;
}

}  // namespace

PlanSearch search_plans(const SearchSpace& space, const ClusterSpec& cluster,
                        const ClusterNetwork& network, const ComputeModel& compute,
                        const TrainingJob& base, const SearchOptions& options) {
  return Search(space, cluster, network, compute, base, options).run();
}

std::function<void(const SearchProgress&)> search_progress_to(ProgressSink* sink) {
  return [sink](const SearchProgress& p) {
    if (!sink || p.phase == SearchPhase::done)
      return;
    sink->report({p.phase == SearchPhase::estimating ? "estimating plans" : "simulating plans",
                  std::min(p.done, p.total),
                  p.total,
                  "plans",
                  {}});
  };
}

std::string why_no_plan(const SearchCounts& counts, double device_memory_bytes) {
  if (counts.enumerated == 0) {
    return "the search space holds no candidate: every degree must divide the devices, and the "
           "scenario's search: section and the fixed axes leave none that do";
  }
  return fmt::format(
      "of {} plans, {} break a strategy rule, {} need more than {:.0f} GiB by the estimate and "
      "{} by the full simulation",
      counts.enumerated, counts.pruned_by_rule, counts.pruned_by_memory,
      device_memory_bytes / (1u << 30), counts.simulated_over_memory);
}

std::string explain_difference(const RankedPlan& first, const RankedPlan& second) {
  struct Part {
    const char* name;
    double first_s;
    double second_s;
  };
  const auto parts_of = [](const RankedPlan& plan) {
    if (plan.simulated) {
      const StepBreakdown& b = plan.simulated->breakdown;
      return std::array<double, 3>{b.compute_s, b.exposed_comm_s, b.bubble_s};
    }
    const PlanEstimate& e = plan.estimate;
    return std::array<double, 3>{e.compute_s, e.exposed_comm_s, e.bubble_s};
  };
  const auto a = parts_of(first);
  const auto b = parts_of(second);
  const Part parts[] = {{"compute", a[0], b[0]},
                        {"exposed communication", a[1], b[1]},
                        {"pipeline bubble", a[2], b[2]}};
  // The part that gains plan 1 the most, and the one that costs it the most where one does:
  // plan 1 may be faster in spite of, say, more exposed communication.
  const Part* gain = &parts[0];
  const Part* cost = &parts[0];
  for (const Part& part : parts) {
    if (part.second_s - part.first_s > gain->second_s - gain->first_s)
      gain = &part;
    if (part.second_s - part.first_s < cost->second_s - cost->first_s)
      cost = &part;
  }
  const double gap = second.step_time_s - first.step_time_s;
  const std::string differ = differences(first.job, second.job);
  // A gap under 0.05 % is below what the models resolve: say they tie rather than name a part.
  if (gap < 5e-4 * second.step_time_s) {
    return fmt::format(
        "plans 1 and 2 take the same time per step to within 0.05 % ({:.4f} s "
        "against {:.4f} s){}",
        first.step_time_s, second.step_time_s, differ.empty() ? "" : "; they differ in " + differ);
  }
  std::string text = fmt::format(
      "plan 1 is {:.3f} s ({:.1f} %) faster per step than plan 2: its {} is {:.3f} s shorter "
      "({:.3f} s against {:.3f} s)",
      gap, second.step_time_s > 0 ? 100 * gap / second.step_time_s : 0.0, gain->name,
      gain->second_s - gain->first_s, gain->first_s, gain->second_s);
  if (cost->first_s - cost->second_s >= 5e-4 * second.step_time_s) {
    text += fmt::format(", though its {} is {:.3f} s longer ({:.3f} s against {:.3f} s)",
                        cost->name, cost->first_s - cost->second_s, cost->first_s, cost->second_s);
  }
  if (!differ.empty())
    text += "; they differ in " + differ;
  return text;
}

}  // namespace scaleplan
