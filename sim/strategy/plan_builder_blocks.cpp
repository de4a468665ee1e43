// The compute blocks of a partitioned graph's layers: a transformer layer's attention and MLP
// (whole, and split into input and weight gradients for zero bubble), the embedding, the output
// head; and each stage's optimizer step kernel.
#include <string>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan {

Kernel optimizer_step_kernel(const TrainingJob& job, const ParameterSplit& stage_params) {
  Kernel step;
  step.name = "adam_step";
  step.kind = KernelKind::optimizer;
  step.dtype = Dtype::fp32;
  // With ZeRO each rank steps only its shard of the optimizer state.
  step.bytes =
      sharded_bytes(stage_params, bytes_per_parameter(job.training.dtype).optimizer_step_traffic,
                    job.parallelism, 1);
  return step;
}

}  // namespace scaleplan

namespace scaleplan::plan_detail {

Blocks make_blocks(Plan& plan, const TrainingJob& job) {
  const auto& p = job.parallelism;
  const LayerPartition partition{p.tp, p.cp, p.sequence_parallel, p.ep};
  Blocks b;
  b.layer = transformer_layer(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.embedding = embedding_block(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.output = output_block(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.attention_forward = plan.add_block({"attention forward", b.layer.attention.forward});
  b.attention_backward = plan.add_block({"attention backward", b.layer.attention.backward()});
  b.attention_core_recompute =
      plan.add_block({"attention core recompute", b.layer.attention.recompute_selective});
  b.mlp_forward = plan.add_block({"mlp forward", b.layer.mlp.forward});
  b.mlp_backward = plan.add_block({"mlp backward", b.layer.mlp.backward()});
  b.embedding_forward = plan.add_block({"embedding forward", b.embedding.forward});
  b.embedding_backward = plan.add_block({"embedding backward", b.embedding.backward()});
  b.output_forward = plan.add_block({"output forward", b.output.forward});
  b.output_backward = plan.add_block({"output backward", b.output.backward()});
  if (job.model.is_moe())
    b.moe = make_moe_blocks(plan, job, partition);
  if (p.schedule == PipelineSchedule::zero_bubble_h1) {
    b.attention_input_gradient =
        plan.add_block({"attention backward input gradient", b.layer.attention.backward_input});
    b.attention_weight_gradient =
        plan.add_block({"attention backward weight gradient", b.layer.attention.backward_weight});
    b.mlp_input_gradient =
        plan.add_block({"mlp backward input gradient", b.layer.mlp.backward_input});
    b.mlp_weight_gradient =
        plan.add_block({"mlp backward weight gradient", b.layer.mlp.backward_weight});
  }
  return b;
}

}  // namespace scaleplan::plan_detail
