#include "calibrate/compute_bench.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <ostream>
#include <set>
#include <stdexcept>
#include <tuple>

#include "hardware/input/diagnostics.hpp"
#include "models/transformer.hpp"

namespace scaleplan {

namespace {

void add_kernels(
    const std::vector<Kernel>& kernels,
    std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>>& shapes) {
  for (const Kernel& k : kernels) {
    if (k.kind == KernelKind::gemm || k.kind == KernelKind::attention)
      shapes.insert({k.gemm.m, k.gemm.n, k.gemm.k, k.gemm.batch});
  }
}

}  // namespace

std::vector<GemmDims> gemm_sweep(const GemmSweepOptions& o) {
  std::set<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>> shapes;
  if (o.transformer) {
    for (const std::string& name : o.presets) {
      const auto model = transformer_preset(name);
      if (!model) {
        throw std::invalid_argument("unknown transformer preset '" + name +
                                    "'; known: " + join_alternatives(transformer_preset_names()));
      }
      for (int tp : o.tp) {
        if (tp < 1 || model->heads % tp != 0 || model->ffn_hidden % tp != 0 ||
            model->vocab % tp != 0)
          continue;
        const LayerPartition partition{tp, 1, false};
        const LayerWork layer = transformer_layer(*model, o.micro_batch, partition, Dtype::bf16);
        for (const Block* block : {&layer.attention, &layer.mlp}) {
          add_kernels(block->forward, shapes);
          add_kernels(block->backward(), shapes);
        }
        const Block head = output_block(*model, o.micro_batch, partition, Dtype::bf16);
        add_kernels(head.forward, shapes);
        add_kernels(head.backward(), shapes);
        if (model->is_moe() && model->moe.expert_ffn_hidden % tp == 0) {
          // Experts as one rank holds them all (ep 1); MoE needs sequence parallelism with tp.
          const MoeWork moe = moe_mlp(*model, o.micro_batch, {tp, 1, tp > 1, 1}, Dtype::bf16);
          for (const Block* block : {&moe.router, &moe.experts, &moe.shared}) {
            add_kernels(block->forward, shapes);
            add_kernels(block->backward(), shapes);
          }
        }
      }
    }
  }
  if (o.grid) {
    if (o.grid_factor < 2 || o.grid_min < 1 || o.grid_max < o.grid_min)
      throw std::invalid_argument("the GEMM grid needs 1 <= min <= max and a factor of at least 2");
    std::vector<std::int64_t> sizes;
    for (std::int64_t s = o.grid_min; s <= o.grid_max; s *= o.grid_factor)
      sizes.push_back(s);
    for (std::int64_t batch : o.grid_batches) {
      for (std::int64_t m : sizes) {
        for (std::int64_t n : sizes) {
          for (std::int64_t k : sizes)
            shapes.insert({m, n, k, batch});
        }
      }
    }
  }
  for (const GemmDims& d : o.extra)
    shapes.insert({d.m, d.n, d.k, d.batch});
  std::vector<GemmDims> result;
  for (const auto& [m, n, k, batch] : shapes) {
    const GemmDims dims{m, n, k, batch};
    if (gemm_flops(dims) <= o.max_flops)
      result.push_back(dims);
  }
  return result;
}

double median_of(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

TrialAgreement agreeing_trials(std::vector<double> trials, int window) {
  std::sort(trials.begin(), trials.end());
  const auto n = static_cast<int>(trials.size());
  const int w = std::clamp(window, 1, n);
  TrialAgreement best{0, std::numeric_limits<double>::infinity(), n};
  for (int first = 0; first + w <= n; ++first) {
    const auto begin = trials.begin() + first;
    const double median = median_of({begin, begin + w});
    const double spread = median > 0 ? (trials[first + w - 1] - trials[first]) / median : 0;
    // Ties keep the faster window: interference only ever slows a trial down.
    if (spread < best.spread) {
      best.time_s = median;
      best.spread = spread;
    }
  }
  return best;
}

namespace {

// One measurement of the sweep: how to take a trial of it, and its trials so far.
struct PendingMeasurement {
  std::function<double()> trial;
  std::vector<double> times;
  TrialAgreement agreement;
};

// Takes `options.trials` trials of every measurement in passes over all of them, then passes over
// those whose agreeing trials still disagree by more than the tolerance, until they agree or have
// `max_trials` trials.
void take_trials(std::vector<PendingMeasurement>& pending, const TimingOptions& o,
                 std::ostream& log) {
  const int trials = std::max(1, o.trials);
  const int most = std::max(trials, o.max_trials);
  for (int pass = 0; pass < most; ++pass) {
    int taken = 0;
    for (PendingMeasurement& p : pending) {
      if (pass >= trials && p.agreement.spread <= o.tolerance)
        continue;
      p.times.push_back(p.trial());
      p.agreement = agreeing_trials(p.times, trials);
      ++taken;
    }
    if (taken == 0)
      break;
    if (pass >= trials)
      log << "  pass " << pass + 1 << ": " << taken << " measurement(s) whose trials disagreed by "
          << "more than " << 100 * o.tolerance << " %\n";
  }
}

}  // namespace

MeasurementRun run_compute_bench(ComputeBackend& backend, const ComputeBenchOptions& o,
                                 std::ostream& log) {
  MeasurementRun run;
  run.environment = backend.environment();
  run.source = run.environment.tool + " on " + run.environment.device +
               (run.environment.hosts.empty() ? "" : " (" + run.environment.hosts.front() + ")");
  const int repeats = o.timing.repeats;
  // How to take a trial of each measurement, in the order of the records below.
  std::vector<PendingMeasurement> pending;
  std::vector<GemmMeasurement> gemm;
  std::vector<MemoryMeasurement> memory;
  std::vector<LaunchMeasurement> launch;
  if (o.gemm) {
    const std::vector<GemmDims> shapes = gemm_sweep(o.sweep);
    for (Dtype dtype : o.dtypes) {
      if (auto why = backend.unsupported(dtype)) {
        log << "skipping " << to_string(dtype) << " GEMMs: " << *why << "\n";
        continue;
      }
      log << "timing " << shapes.size() << " " << to_string(dtype) << " GEMM shapes\n";
      for (const GemmDims& dims : shapes) {
        if (auto why = backend.cannot_run(dtype, dims)) {
          log << "skipping " << to_string(dtype) << " " << dims.m << "x" << dims.n << "x" << dims.k
              << " batch " << dims.batch << ": " << *why << "\n";
          continue;
        }
        gemm.push_back({dtype, dims, 0, repeats, {}});
        pending.push_back(
            {[&backend, dtype, dims, &o] { return backend.gemm_time_s(dtype, dims, o.timing); },
             {},
             {}});
      }
    }
  }
  if (o.memory) {
    if (o.memory_factor < 2 || o.memory_min_elements < 1 ||
        o.memory_max_elements < o.memory_min_elements)
      throw std::invalid_argument("the memory sweep needs 1 <= min <= max and a factor >= 2");
    log << "timing copy and triad\n";
    for (std::int64_t e = o.memory_min_elements; e <= o.memory_max_elements; e *= o.memory_factor) {
      const double bytes = 4.0 * static_cast<double>(e);
      memory.push_back({"copy", 2 * bytes, 0, repeats, {}});
      pending.push_back({[&backend, e, &o] { return backend.copy_time_s(e, o.timing); }, {}, {}});
      memory.push_back({"triad", 3 * bytes, 0, repeats, {}});
      pending.push_back({[&backend, e, &o] { return backend.triad_time_s(e, o.timing); }, {}, {}});
    }
  }
  if (o.launch) {
    log << "timing kernel launches\n";
    launch.push_back({"empty", 0, repeats, {}});
    pending.push_back({[&backend, &o] { return backend.launch_time_s(o.timing); }, {}, {}});
  }
  take_trials(pending, o.timing, log);
  double worst = 0;
  std::size_t next = 0;
  auto record = [&](auto& measurement) {
    const TrialAgreement& a = pending[next++].agreement;
    measurement.time_s = a.time_s;
    // One trial has no spread to record.
    if (o.timing.trials >= 2) {
      measurement.agreement = {a.spread, a.trials};
      worst = std::max(worst, a.spread);
    }
  };
  for (auto& g : gemm)
    record(g);
  for (auto& m : memory)
    record(m);
  for (auto& l : launch)
    record(l);
  if (!pending.empty() && o.timing.trials >= 2)
    log << "trials agree within " << 100 * worst << " % (worst measurement)\n";
  run.gemm = std::move(gemm);
  run.memory = std::move(memory);
  run.launch = std::move(launch);
  return run;
}

}  // namespace scaleplan
