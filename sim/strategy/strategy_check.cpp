#include "sim/strategy/strategy_check.hpp"

#include <limits>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "hardware/input/checked_math.hpp"
#include "hardware/input/diagnostics.hpp"
#include "sim/strategy/plan_size.hpp"

namespace scaleplan {

namespace {

// Messages are built only for a problem found: a job without one allocates nothing.
using Problems = std::vector<PlanProblem>;

std::string product_text(std::int64_t product) {
  return product == std::numeric_limits<std::int64_t>::max() ? std::string("more than 2^63")
                                                             : fmt::format("{}", product);
}

// Values the rules divide by or count with must be positive (the scenario reader's ranges make
// them so; a caller building jobs by value may not). Returns whether they are.
bool check_ranges(const TrainingJob& job, Problems& problems) {
  const auto& p = job.parallelism;
  const auto& t = job.training;
  struct Range {
    std::string_view key;
    std::int64_t value;
    std::int64_t min;
    std::int64_t max;
  };
  constexpr std::int64_t unbounded = std::numeric_limits<std::int64_t>::max();
  const Range ranges[] = {
      {"parallelism.tp", p.tp, 1, unbounded},
      {"parallelism.pp", p.pp, 1, unbounded},
      {"parallelism.dp", p.dp, 1, unbounded},
      {"parallelism.cp", p.cp, 1, unbounded},
      {"parallelism.ep", p.ep, 1, unbounded},
      {"parallelism.virtual_stages", p.virtual_stages, 1, unbounded},
      {"parallelism.zero", p.zero, 0, 3},
      {"training.global_batch", t.global_batch, 1, unbounded},
      {"training.micro_batch", t.micro_batch, 1, unbounded},
      {"model.kv_heads", job.model.kv_heads, 1, unbounded},
  };
  const std::size_t before = problems.size();
  for (const Range& r : ranges) {
    if (r.value >= r.min && r.value <= r.max)
      continue;
    problems.push_back({r.key,
                        {},
                        r.max == unbounded
                            ? fmt::format("{} is out of range; use {} or more", r.value, r.min)
                            : fmt::format("{} is out of range; use a value from {} to {}", r.value,
                                          r.min, r.max)});
  }
  return problems.size() == before;
}

// `advice`, when given, is a second way out beside the divisors.
void must_divide(Problems& problems, std::string_view key, std::int64_t degree, std::int64_t value,
                 std::string_view what, std::string_view advice = {}) {
  if (value % degree == 0)
    return;
  problems.push_back(
      {key,
       {},
       fmt::format("{} does not divide {} ({}); use one of {}{}{}", degree, what, value,
                   divisor_hint(value, 4096), advice.empty() ? "" : ", or ", advice)});
}

// parallelism.stage_layers: one count per model chunk (per stage without interleaving), adding
// up to the model's layers; a transformer's first and last chunks may hold none (the embedding,
// the output head alone), as Megatron-Core's pipeline layouts allow.
void check_stage_layers(const TrainingJob& job, Problems& problems) {
  const auto& p = job.parallelism;
  if (p.stage_layers.empty())
    return;
  const std::int64_t layers = job.model.layers;
  const bool interleaved = p.schedule == PipelineSchedule::interleaved_1f1b;
  const std::int64_t chunks =
      static_cast<std::int64_t>(p.pp) * (interleaved ? p.virtual_stages : 1);
  if (static_cast<std::int64_t>(p.stage_layers.size()) != chunks) {
    problems.push_back(
        {"parallelism.stage_layers",
         {},
         interleaved
             ? fmt::format("{} counts for {} model chunks; give one count per chunk in model order "
                           "(pp·virtual_stages: {}; chunk c runs on stage c mod pp)",
                           p.stage_layers.size(), chunks, chunks)
             : fmt::format("{} counts for {} pipeline stages; give one count per stage (pp: {})",
                           p.stage_layers.size(), p.pp, p.pp)});
    return;
  }
  const bool riders = runs_partitioned(job);
  std::int64_t sum = 0;
  for (std::size_t c = 0; c < p.stage_layers.size(); ++c) {
    const std::int64_t n = p.stage_layers[c];
    const bool end = c == 0 || c + 1 == p.stage_layers.size();
    if (n < (riders && end ? 0 : 1)) {
      problems.push_back(
          {"parallelism.stage_layers",
           {},
           fmt::format("{} layers on {} {}; {}", n, interleaved ? "chunk" : "stage", c,
                       riders ? "every one but the first and last (which may hold the embedding "
                                "and the output head alone) needs at least one"
                              : "every one needs at least one")});
      return;
    }
    sum += n;
  }
  if (sum != layers) {
    problems.push_back(
        {"parallelism.stage_layers",
         {},
         fmt::format("the stages hold {} layers but the model has {}; make the counts add up to {}",
                     sum, layers, layers)});
  }
}

// A graph whose layers run whole (runs_partitioned) runs under data and pipeline parallelism
// (GPipe or 1F1B) with its tables sharded over the data-parallel ranks. The rest partitions a
// layer (tp, cp, ep, sequence parallelism), keeps part of its activations (recompute), splits its
// backward (zero bubble) or its weights (ZeRO), which the builder does for a decoder's
// transformer layers, not for a whole layer.
void check_graph_degrees(const TrainingJob& job, Problems& problems) {
  const auto& p = job.parallelism;
  const auto not_modelled = [&](std::string_view key, bool broken, std::string_view what) {
    if (broken) {
      problems.push_back(
          {key,
           {},
           fmt::format("{} is not modelled for layer-graph models: their layers run whole, and "
                       "only a decoder graph's (a token embedding, transformer layers, an output "
                       "head) run partitioned; {}",
                       key, what)});
    }
  };
  not_modelled("parallelism.tp", p.tp != 1, "use tp: 1");
  not_modelled("parallelism.cp", p.cp != 1, "use cp: 1");
  not_modelled("parallelism.ep", p.ep != 1, "use ep: 1 (embedding tables are sharded over dp)");
  not_modelled("parallelism.zero", p.zero != 0, "use zero: 0");
  not_modelled("parallelism.recompute", p.recompute != Recompute::none, "use recompute: none");
  not_modelled("parallelism.sequence_parallel", p.sequence_parallel,
               "use sequence_parallel: false");
  not_modelled("parallelism.schedule",
               p.schedule != PipelineSchedule::gpipe && p.schedule != PipelineSchedule::one_f_one_b,
               "use gpipe or 1f1b");
  not_modelled("parallelism.virtual_stages", p.virtual_stages != 1, "use virtual_stages: 1");
  if (job.model.layers < p.pp) {
    problems.push_back({"parallelism.pp",
                        {},
                        fmt::format("{} pipeline stages need at least one layer each, but the "
                                    "model has {}; use pp of at most {}",
                                    p.pp, job.model.layers, job.model.layers)});
  }
  check_stage_layers(job, problems);
}

// Rules 2 to 9 of the header's list: what each degree splits, and the pipeline's chunks.
// `world_fits`: tp·pp·cp·dp is the device count, so that dp is the one the job runs with.
void check_degrees(const TrainingJob& job, bool world_fits, Problems& problems) {
  const auto& p = job.parallelism;
  const auto& m = job.model;
  if (!runs_partitioned(job)) {
    check_graph_degrees(job, problems);
    return;
  }
  check_stage_layers(job, problems);
  must_divide(problems, "parallelism.tp", p.tp, m.heads, "heads");
  if (m.kv_heads % p.tp != 0 && p.tp % m.kv_heads != 0) {
    problems.push_back(
        {"parallelism.tp",
         {},
         fmt::format("{} neither divides nor is a multiple of kv_heads ({})", p.tp, m.kv_heads)});
  }
  must_divide(problems, "parallelism.tp", p.tp, m.ffn_hidden, "ffn_hidden");
  must_divide(problems, "parallelism.cp", p.cp, m.seq_len, "seq_len");
  // Expert parallelism (Megatron-LM): the expert-parallel ranks are data-parallel ranks, each
  // holding experts/ep of the routed experts, split over tp as the dense FFN is; Megatron-LM
  // needs sequence parallelism for MoE with tp > 1.
  if (m.is_moe()) {
    must_divide(problems, "parallelism.ep", p.ep, m.moe.experts, "moe.experts");
    must_divide(problems, "parallelism.tp", p.tp, m.moe.expert_ffn_hidden, "moe.expert_ffn_hidden");
    if (p.tp > 1 && !p.sequence_parallel) {
      problems.push_back({"parallelism.sequence_parallel", "parallelism.tp",
                          "MoE layers with tp > 1 need sequence parallelism (as in Megatron-LM); "
                          "set sequence_parallel: true or tp: 1"});
    }
    if (p.zero >= 3) {
      problems.push_back(
          {"parallelism.zero", {}, "ZeRO-3 is not modelled for MoE models; use zero 0, 1 or 2"});
    }
  } else if (p.ep > 1) {
    problems.push_back({"parallelism.ep",
                        {},
                        "expert parallelism needs a model with MoE layers (model.moe, or a "
                        "preset such as mixtral-8x7b); use ep: 1"});
  }
  if (world_fits && p.dp % p.ep != 0) {
    problems.push_back(
        {"parallelism.ep",
         {},
         fmt::format("{} does not divide dp ({}): expert-parallel ranks are carved out of the "
                     "data-parallel ranks; use one of {}",
                     p.ep, p.dp, divisor_hint(p.dp))});
  }
  // A vocabulary that tp does not divide is padded as the framework pads it (pad_vocabulary in
  // plan_builder.hpp), not refused.
  const bool interleaved = p.schedule == PipelineSchedule::interleaved_1f1b;
  const std::int64_t chunks = interleaved ? p.virtual_stages : 1;
  if (!interleaved && p.virtual_stages != 1) {
    problems.push_back({"parallelism.virtual_stages",
                        {},
                        "only the interleaved-1f1b schedule uses virtual stages; set "
                        "schedule: interleaved-1f1b or virtual_stages: 1"});
  }
  if (chunks > 1 && p.pp == 1) {
    // One rank would hold every virtual stage and send activations to itself (found by the
    // scenario fuzzer: the plan then fails validation).
    problems.push_back({"parallelism.virtual_stages",
                        {},
                        "virtual stages interleave the layers of several pipeline stages; "
                        "with pp: 1 use virtual_stages: 1 (or pp of 2 or more)"});
  }
  // The first and last chunks may hold the embedding and the output head alone (chunk_layers).
  const std::int64_t model_chunks = saturating_product({p.pp, chunks});
  if (m.layers + 2 < model_chunks) {
    problems.push_back(
        {chunks > 1 ? "parallelism.virtual_stages" : "parallelism.pp",
         {},
         fmt::format("pp·virtual_stages = {} model chunks need a layer each but the first and "
                     "last (which may hold the embedding and the output head alone), but the "
                     "model has {}; use pp·virtual_stages of at most {}",
                     product_text(model_chunks), m.layers, m.layers + 2)});
  }
}

// The batch splits into whole micro-batches per pipeline, not too many, and the plan stays
// within max_plan_ops (refused here, with the keys that drive it, rather than as an exhausted
// memory or an hours-long run later: sim/strategy/plan_size.hpp, docs/reliability.md).
void check_batch_and_size(const TrainingJob& job, Problems& problems) {
  const auto& p = job.parallelism;
  const auto& t = job.training;
  if (!t.replica_micro_batch.empty()) {
    if (static_cast<std::int64_t>(t.replica_micro_batch.size()) != p.dp) {
      problems.push_back({"training.micro_batch_by_group",
                          {},
                          fmt::format("{} replica micro-batches for {} data-parallel replicas; "
                                      "give one per replica",
                                      t.replica_micro_batch.size(), p.dp)});
      return;
    }
    if (t.replica_micro_batches_differ() && p.ep > 1) {
      problems.push_back({"training.micro_batch_by_group",
                          {},
                          "replicas of different micro-batches exchange tokens of different "
                          "sizes under expert parallelism, which is not modelled; use ep: 1 or "
                          "one micro_batch"});
      return;
    }
  }
  const std::int64_t per_step = t.micro_batches_sum(p.dp);
  if (!t.replica_micro_batch.empty() && t.global_batch % per_step != 0) {
    problems.push_back({"training.micro_batch_by_group",
                        {},
                        fmt::format("the replicas' micro-batches add up to {}, which does not "
                                    "divide global_batch ({}); use a global_batch multiple of {}",
                                    per_step, t.global_batch, per_step)});
    return;
  }
  if (t.global_batch % per_step != 0) {
    problems.push_back({"parallelism.dp",
                        {},
                        fmt::format("global_batch ({}) is not a multiple of micro_batch·dp ({}·{})",
                                    t.global_batch, t.micro_batch, p.dp)});
    return;
  }
  const std::int64_t microbatches = t.global_batch / per_step;
  if (microbatches > max_microbatches) {
    problems.push_back({"parallelism.dp",
                        {},
                        fmt::format("{} micro-batches per pipeline per step is beyond the limit "
                                    "of {}; raise micro_batch",
                                    microbatches, max_microbatches)});
    return;
  }
  if (p.schedule == PipelineSchedule::interleaved_1f1b && microbatches % p.pp != 0) {
    problems.push_back({"parallelism.schedule",
                        {},
                        fmt::format("interleaved-1f1b needs the micro-batches per pipeline ({}) "
                                    "to be a multiple of pp ({})",
                                    microbatches, p.pp)});
    return;
  }
  if (auto problem = plan_size_problem(job, RankScope::one_replica))
    problems.push_back(std::move(*problem));
}

}  // namespace

std::optional<PlanProblem> plan_size_problem(const TrainingJob& job, RankScope scope) {
  const std::int64_t ops = estimated_plan_ops(job, scope);
  if (ops <= max_plan_ops)
    return std::nullopt;
  const auto& p = job.parallelism;
  const auto& t = job.training;
  const std::int64_t microbatches =
      t.global_batch / std::max<std::int64_t>(1, saturating_product({t.micro_batch, p.dp}));
  // One replica stands for the others: only the ranks it lists count.
  const double ranks = listed_ranks(p, scope);
  return PlanProblem{
      "parallelism.dp",
      {},
      fmt::format("this job's plan would hold about {} ops ({:.0f} simulated ranks × {} "
                  "micro-batches × {} layers per stage), beyond the limit of {}; raise "
                  "training.micro_batch, lower training.global_batch, or use fewer "
                  "cluster.nodes or model.layers",
                  product_text(ops), ranks, microbatches, job.model.layers / p.pp, max_plan_ops)};
}

namespace {

void check_job(const TrainingJob& job, bool world_fits, Problems& problems) {
  check_degrees(job, world_fits, problems);
  if (problems.empty())
    check_batch_and_size(job, problems);
}

}  // namespace

std::string divisor_hint(std::int64_t n, std::int64_t limit) {
  std::string text;
  int listed = 0;
  for (std::int64_t d = 1; d <= n && d <= limit && listed < 12; ++d) {
    if (n % d != 0)
      continue;
    text += listed++ == 0 ? fmt::format("{}", d) : fmt::format(", {}", d);
  }
  return text;
}

std::vector<PlanProblem> check_strategy(const TrainingJob& job) {
  Problems problems;
  if (check_ranges(job, problems))
    check_job(job, true, problems);
  return problems;
}

namespace {

// "2 nodes × 8": the cluster's nodes and their devices, each node group's where they differ.
std::string nodes_text(const ClusterSpec& cluster) {
  if (!cluster.mixes_shapes())
    return fmt::format("{} × {}", counted(cluster.nodes, "node"), cluster.devices_per_node);
  std::string out;
  for (const NodeGroup& g : cluster.node_groups) {
    out += fmt::format("{}{} × {}", out.empty() ? "" : " + ", counted(g.nodes, "node"),
                       cluster.shape_of_group(g).devices);
  }
  return out;
}

// Ranks fill devices in order, tp fastest, so a tensor-parallel group stays inside one node
// where tp divides its node's devices. Where node groups differ in size, one that tp does not
// divide would straddle two nodes, perhaps of two device kinds: that is refused, naming the
// group and the degrees that divide every group's nodes.
std::optional<PlanProblem> tensor_parallel_across_shapes(const ClusterSpec& cluster, int tp) {
  if (!cluster.mixes_shapes() || tp < 1)
    return std::nullopt;
  int common = 0;
  for (const NodeGroup& g : cluster.node_groups)
    common = std::gcd(common, cluster.shape_of_group(g).devices);
  for (const NodeGroup& g : cluster.node_groups) {
    const int per_node = cluster.shape_of_group(g).devices;
    if (per_node % tp == 0)
      continue;
    std::string valid;
    for (int d = 1; d <= common; ++d) {
      if (common % d == 0)
        valid += fmt::format("{}{}", valid.empty() ? "" : ", ", d);
    }
    return PlanProblem{"parallelism.tp",
                       {},
                       fmt::format("{} does not divide the {} devices of a node of node group "
                                   "'{}'; a tensor-parallel group stays inside one node, so tp "
                                   "divides every group's devices_per_node: use one of {}",
                                   tp, per_node, printable_text(g.name), valid)};
  }
  return std::nullopt;
}

}  // namespace

std::vector<PlanProblem> check_strategy(const ClusterSpec& cluster, const TrainingJob& job) {
  Problems problems;
  const auto& p = job.parallelism;
  if (check_ranges(job, problems)) {
    const std::int64_t devices = cluster.device_count();
    const std::int64_t model_parallel = saturating_product({p.tp, p.pp, p.cp});
    const std::int64_t world = saturating_product({model_parallel, p.dp});
    if (devices % model_parallel != 0) {
      problems.push_back({"parallelism.tp",
                          {},
                          fmt::format("tp·pp·cp = {} does not divide the {} devices, so no "
                                      "data-parallel degree fits",
                                      product_text(model_parallel), devices)});
    } else if (world != devices) {
      problems.push_back(
          {"parallelism.dp",
           {},
           fmt::format("tp·pp·cp·dp = {}·{}·{}·{} = {}, but the cluster has {} devices ({}); "
                       "use dp: {}",
                       p.tp, p.pp, p.cp, p.dp, product_text(world), devices, nodes_text(cluster),
                       devices / model_parallel)});
    }
    if (auto problem = tensor_parallel_across_shapes(cluster, p.tp))
      problems.push_back(std::move(*problem));
    check_job(job, world == devices, problems);
  }
  const DeviceSpec& device = cluster.device;
  if (!device.name.empty() && !device.supports(job.training.dtype)) {
    std::string have;
    for (const auto& [dtype, peak] : device.peak_flops_per_s)
      have += (have.empty() ? "" : ", ") + std::string(to_string(dtype));
    problems.push_back({"training.dtype",
                        {},
                        fmt::format("{} has no {} peak in the catalog; use one of {}", device.name,
                                    to_string(job.training.dtype), have)});
  }
  return problems;
}

int fitting_data_parallel_degree(const ClusterSpec& cluster, const ParallelismSpec& parallelism) {
  const std::int64_t model_parallel =
      saturating_product({parallelism.tp, parallelism.pp, parallelism.cp});
  const std::int64_t devices = cluster.device_count();
  return model_parallel >= 1 && devices % model_parallel == 0
             ? static_cast<int>(devices / model_parallel)
             : 1;
}

}  // namespace scaleplan
