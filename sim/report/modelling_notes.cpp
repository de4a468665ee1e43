#include "sim/report/modelling_notes.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <array>
#include <memory>
#include "hardware/input/diagnostics.hpp"
#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

std::vector<std::string> modelling_notes(const TrainingJob& job) {
  std::vector<std::string> notes;
  const auto& par = job.parallelism;
  if (job.graph && !is_decoder_graph(*job.graph)) {
    notes.push_back("layer graph " + job.graph->name + " (" +
                    std::to_string(job.graph->layers.size()) + " layers): a token is one " +
                    job.graph->sample);
  }
  if (job.training.replica_micro_batches_differ()) {
    // Runs of equal micro-batches over the replicas, in dp order: "176 on replicas 0-7, 80 on
    // 8-15".
    const auto& batches = job.training.replica_micro_batch;
    std::string runs;
    for (std::size_t first = 0; first < batches.size();) {
      std::size_t last = first;
      while (last + 1 < batches.size() && batches[last + 1] == batches[first])
        ++last;
      runs += fmt::format("{}{} on replica{} {}", runs.empty() ? "" : ", ", batches[first],
                          last > first ? "s" : "",
                          last > first ? fmt::format("{}-{}", first, last) : std::to_string(first));
      first = last + 1;
    }
    notes.push_back("data-parallel replicas' micro-batches (training.micro_batch_by_group): " +
                    runs);
  }
  if (!par.stage_layers.empty()) {
    std::string split;
    for (std::int64_t n : par.stage_layers)
      split += (split.empty() ? "" : ", ") + std::to_string(n);
    notes.push_back(std::string(par.balance_by_time ? "layers per stage balanced by time: "
                                : par.schedule == PipelineSchedule::interleaved_1f1b
                                    ? "layers per model chunk (chunk c on stage c mod pp): "
                                    : "layers per stage: ") +
                    split);
  }
  if (job.unpadded_vocab) {
    const bool gspmd = job.framework.framework == Framework::jax_gspmd;
    notes.push_back(fmt::format(
        "vocabulary {} padded to {}, a multiple of {} that tp {} divides ({}); the padded rows "
        "are computed, stored and counted in the model FLOPs",
        *job.unpadded_vocab, job.model.vocab, vocab_padding_multiple(job), par.tp,
        gspmd ? "GSPMD pads an uneven shard to a multiple of the shard count"
              : "Megatron-LM's make_vocab_size_divisible_by 128 times tp"));
  }
  if (job.model.mtp_layers > 0) {
    notes.push_back(fmt::format(
        "multi-token prediction: {} module{} after the last layer, on the last pipeline stage: "
        "{}one more {} layer, eh_proj and a pass through the shared output head and loss{}; "
        "counted in the model FLOPs",
        job.model.mtp_layers, job.model.mtp_layers == 1 ? "" : "s",
        job.model.mtp_layers == 1 ? "" : "each ", job.model.is_moe() ? "MoE" : "transformer",
        par.pp > 1 && !job.model.tied_embeddings
            ? "; that stage keeps a copy of the word embedding for their lookup"
            : ""));
  }
  const bool mla_up_projection =
      par.recompute_modules.mla_up_projection && job.model.latent_attention();
  const bool dense_mlp =
      par.recompute_modules.mlp && job.model.moe_layers_in(0, job.model.layers) < job.model.layers;
  const bool moe_activation = par.recompute_modules.moe_activation && job.model.is_moe();
  const bool layernorm = par.recompute_modules.layernorm;
  if (par.recompute == Recompute::selective && job.model.flash_attention && !mla_up_projection &&
      !dense_mlp && !moe_activation && !layernorm) {
    notes.push_back(
        "recompute: selective changes nothing with flash attention: selective recompute drops the "
        "attention core's score matrix and recomputes it (Korthikanti et al. 2022), and the fused "
        "kernel never stores it and recomputes it in its backward already");
  }
  if (par.recompute == Recompute::selective &&
      (mla_up_projection || dense_mlp || moe_activation || layernorm)) {
    std::vector<std::string> parts;
    if (par.recompute_modules.core_attention && !job.model.flash_attention)
      parts.emplace_back("the attention core");
    if (mla_up_projection) {
      parts.emplace_back(
          "latent attention's up-projections (keeping the latents instead of the queries, keys "
          "and values)");
    }
    if (dense_mlp)
      parts.emplace_back("the dense layers' MLP (keeping its input)");
    if (moe_activation)
      parts.emplace_back("the routed experts' activation (keeping FC1's output)");
    if (layernorm)
      parts.emplace_back("the norms before attention and the MLP (keeping their inputs)");
    notes.push_back("recompute: selective runs again before each layer's backward: " +
                    join_all(parts));
  }
  if (const auto& f = job.framework;
      f.framework || f.overlap_param_gather || f.zero3_prefetch_parameters ||
      f.pipeline_scatter_gather || f.pipeline_blocking_p2p || f.pipeline_output_regather ||
      f.bf16_optimizer || f.tp_comm_overlap || f.overlap_moe_expert_parallel_comm ||
      f.flat_parameter_gradient_copy || f.optimizer_step != OptimizerStep::fused ||
      f.optimizer_wrapper_passes || f.grad_reduce_dtype != GradReduceDtype::fp32 ||
      f.gradient_accumulation != GradientAccumulation::fused ||
      f.zero2_gradient_reduction != Zero2GradientReduction::step) {
    std::string text = "framework " + (f.framework ? std::string(to_string(*f.framework)) : "-") +
                       ": gradient reduction " +
                       (par.overlap_grad_reduce ? "overlapping backward" : "after backward") +
                       " in " +
                       std::string(to_string(f.grad_reduce_dtype == GradReduceDtype::fp32
                                                 ? Dtype::fp32
                                                 : non_gemm_dtype(job.training.dtype)));
    if (zero_two_gathers_per_layer(job)) {
      text +=
          ", each layer's weights all-gathered before its forward and its gradients "
          "reduce-scattered after its backward (FSDP's SHARD_GRAD_OP)";
    } else if (par.zero == 1 || par.zero == 2) {
      text += f.overlap_param_gather ? ", weight all-gather overlapping the next forward"
                                     : ", weight all-gather after the optimizer step";
    }
    if (zero_two_reduces_every_micro_batch(job))
      text += ", ZeRO-2's gradients reduce-scattered after every micro-batch";
    if (par.zero >= 3) {
      text += f.zero3_prefetch_parameters ? fmt::format(", ZeRO-3 prefetching {:g} parameters",
                                                        *f.zero3_prefetch_parameters)
                                          : ", ZeRO-3 prefetching the next layer";
    }
    if (f.pipeline_scatter_gather && par.pp > 1 && par.tp > 1 && !par.sequence_parallel)
      text += ", pipeline messages scattered over tp and all-gathered";
    if (pipeline_blocking_p2p_on(job))
      text += ", pipeline sends and receives holding up the compute (DeepSpeed's TrainSchedule)";
    if (pipeline_output_regather_on(job))
      text += ", each stage's output all-gathered again before its backward";
    if (bf16_optimizer_on(job)) {
      text +=
          ", DeepSpeed's BF16_Optimizer (gradients all-reduced, added into fp32 after each "
          "micro-batch)";
    }
    if (tp_comm_overlap_on(job))
      text += ", tensor-parallel all-gathers and reduce-scatters overlapping the GEMMs";
    if (moe_a2a_overlap_on(job)) {
      text +=
          ", expert-parallel all-to-alls of paired forward and backward steps beside their "
          "compute (Megatron-Core's combined 1F1B)";
    }
    if (f.flat_parameter_gradient_copy)
      text += ", each layer's gradients copied into its flat gradient (FSDP1)";
    if (gradient_accumulation_kernel(job, 1)) {
      text += f.gradient_accumulation == GradientAccumulation::main_grad_hook
                  ? ", each micro-batch's gradients added into the main_grad buffers by a hook"
                  : ", each micro-batch's gradients after the first added into param.grad "
                    "(autograd)";
    }
    if (f.optimizer_step == OptimizerStep::unfused)
      text += ", the optimizer step unfused";
    if (f.optimizer_wrapper_passes)
      text += ", the optimizer wrapper's gradient copy, unscaling, norm and weight copy counted";
    notes.push_back(text);
  }
  if (job.training.dtype == Dtype::fp8) {
    const FrameworkSpec& f = job.framework;
    notes.push_back(
        "fp8: the linear layers' GEMMs run in fp8; attention, norms, elementwise kernels, the "
        "output layer and the tensor-, context- and pipeline-parallel traffic in bf16 "
        "(Transformer Engine); each fp8 GEMM's input, weights and output gradient cast to fp8 "
        "with " +
        std::string(to_string(f.fp8_recipe)) + " scaling, the weights " +
        (f.fp8_weight_cache ? "once per step" : "every micro-batch") +
        (f.fp8_cast_fusion == Fp8CastFusion::norm
             ? ", the QKV and FC1 inputs written by their norm (LayerNormLinear)"
             : ""));
  }
  if (job.framework.cross_entropy_fusion != CrossEntropyFusion::none) {
    notes.push_back("the loss: fused cross-entropy (" +
                    std::string(to_string(job.framework.cross_entropy_fusion)) + ")");
  }
  if (job.model.flash_attention && job.framework.attention_library != AttentionLibrary::cudnn) {
    notes.push_back("fused attention: " + std::string(to_string(job.framework.attention_library)) +
                    "'s kernels, timed at the catalog's figure for them where the device has one "
                    "(cuDNN's otherwise)");
  }
  return notes;
}

}  // namespace scaleplan
