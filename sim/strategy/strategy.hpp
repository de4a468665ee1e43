// How a model is trained: batch sizes, dtype, and the parallel strategy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"
#include "hardware/input/checked_math.hpp"
#include "hardware/input/enum_names.hpp"
#include "models/transformer.hpp"

namespace scaleplan {

enum class PipelineSchedule { gpipe, one_f_one_b, interleaved_1f1b, zero_bubble_h1 };
// How weights are laid out over the ranks (parallelism.sharding). none: as tp and zero say.
// two_d: GSPMD's 2D weight sharding as PaLM trained (Chowdhery et al. 2022, section 4; Xu et al.
// 2021, GSPMD, section 3.5): each weight split over the model axis (tp) and the data axis of its
// slice (dp / dcn_dp ranks), so a layer's weights are all-gathered over the data axis before each
// use and its gradients reduce-scattered over it (ZeRO-3 on the data axis), the activations
// all-gathered over the model axis before each tp block and reduce-scattered after it (the
// bytes of sequence parallelism), and across slices (dcn_dp) the reduced gradient shards
// all-reduced once a step.
enum class WeightSharding { none, two_d };
inline constexpr EnumNames<WeightSharding, 2> weight_sharding_names{{{
    {WeightSharding::none, "none"},
    {WeightSharding::two_d, "2d"},
}}};
inline std::string_view to_string(WeightSharding sharding) {
  return weight_sharding_names.name(sharding);
}
enum class Recompute { none, selective, full };

inline constexpr EnumNames<PipelineSchedule, 4> pipeline_schedule_names{{{
    {PipelineSchedule::gpipe, "gpipe"},
    {PipelineSchedule::one_f_one_b, "1f1b"},
    {PipelineSchedule::interleaved_1f1b, "interleaved-1f1b"},
    {PipelineSchedule::zero_bubble_h1, "zb-h1"},
}}};
inline constexpr EnumNames<Recompute, 3> recompute_names{{{
    {Recompute::none, "none"},
    {Recompute::selective, "selective"},
    {Recompute::full, "full"},
}}};

inline std::string_view to_string(PipelineSchedule schedule) {
  return pipeline_schedule_names.name(schedule);
}
inline std::string_view to_string(Recompute recompute) {
  return recompute_names.name(recompute);
}

struct TrainingSpec {
  std::int64_t global_batch = 1;  // sequences per step
  std::int64_t micro_batch = 1;   // sequences per micro-batch
  Dtype dtype = Dtype::bf16;
  // The micro-batch of each data-parallel replica (index: dp rank), where replicas on slower
  // node groups take smaller ones (training.micro_batch_by_group); every replica runs the same
  // number of micro-batches, global_batch over their sum. Empty: every replica's is micro_batch.
  std::vector<std::int64_t> replica_micro_batch;
  // Whether the replicas' micro-batches differ (the plan then lists every rank).
  bool replica_micro_batches_differ() const {
    for (const std::int64_t mb : replica_micro_batch) {
      if (mb != replica_micro_batch.front())
        return true;
    }
    return false;
  }
  // Sequences of one micro-batch of every replica together: micro_batch·dp, or the replicas' sum.
  std::int64_t micro_batches_sum(int dp) const {
    if (replica_micro_batch.empty())
      return saturating_product({micro_batch, dp});
    std::int64_t sum = 0;
    for (const std::int64_t mb : replica_micro_batch)
      sum += mb;
    return sum;
  }
};

struct ParallelismSpec {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int cp = 1;
  int ep = 1;
  PipelineSchedule schedule = PipelineSchedule::one_f_one_b;
  int virtual_stages = 1;
  int zero = 0;
  Recompute recompute = Recompute::none;
  // What recompute: selective recomputes (parallelism.recompute_modules).
  SelectiveRecompute recompute_modules;
  bool sequence_parallel = false;
  // Data-parallel gradient reduction: bucket size and whether buckets reduce while backward
  // still runs. Megatron-LM's default bucket is max(40M, 1M·dp) parameters.
  bool overlap_grad_reduce = true;
  double grad_bucket_bytes = 0;  // 0: Megatron's default for the dtype
  // Layers of each pipeline stage, first to last (parallelism.stage_layers); empty: the even
  // split of chunk_layers. Transformer layers for a transformer, graph layers for a layer graph.
  std::vector<std::int64_t> stage_layers;
  // parallelism.balance: time asks the prediction to set stage_layers to the split whose slowest
  // stage is fastest (balanced_stage_layers, sim/report), when stage_layers is not written.
  bool balance_by_time = false;
  WeightSharding sharding = WeightSharding::none;
  // Data-parallel ways across slices (parallelism.dcn_dp, with sharding 2d): blocks of dp / dcn_dp
  // consecutive data-parallel indices shard the weights, the blocks hold the same shards.
  int dcn_dp = 1;
  // Ranks a ZeRO shard is split over: the data- and context-parallel ranks of one block.
  int shard_ways() const { return dp * cp / dcn_dp; }

  int world_size() const { return tp * pp * dp * cp; }
};

}  // namespace scaleplan
