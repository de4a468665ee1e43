// The MLP of an MoE layer (models/transformer.hpp, MoeWork): router, dispatch all-to-all,
// experts, combine all-to-all and shared experts, forward as run in the forward pass or
// recomputed before backward, and backward. The all-to-alls sit on the chain: the experts wait
// for their tokens, the combine for the experts' outputs. Backward mirrors forward: each
// all-to-all sends gradients the other way, the tensor-parallel all-gather becomes a
// reduce-scatter and the reduce-scatter an all-gather. Under zero bubble the input gradient keeps
// all of that communication, which the previous layer's gradient needs, and the weight gradients
// of the router, experts and shared experts run later in the weight-gradient pass.
#include <string>
#include <utility>
#include <vector>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan::plan_detail {

MoeBlocks make_moe_blocks(Plan& plan, const TrainingJob& job, const LayerPartition& partition) {
  MoeBlocks x;
  x.work = moe_mlp(job.model, job.training.micro_batch, partition, job.training.dtype,
                   job.parallelism.recompute_modules);
  if (!x.work.experts.recompute_selective.empty()) {
    x.experts_recompute =
        plan.add_block({"moe experts recompute", x.work.experts.recompute_selective});
  }
  if (!x.work.router.recompute_selective.empty())
    x.router_recompute = plan.add_block({"moe norm recompute", x.work.router.recompute_selective});
  x.router_forward = plan.add_block({"moe router forward", x.work.router.forward});
  x.router_backward = plan.add_block({"moe router backward", x.work.router.backward()});
  x.experts_forward = plan.add_block({"moe experts forward", x.work.experts.forward});
  x.experts_backward = plan.add_block({"moe experts backward", x.work.experts.backward()});
  x.shared_forward = plan.add_block({"moe shared experts forward", x.work.shared.forward});
  x.shared_backward = plan.add_block({"moe shared experts backward", x.work.shared.backward()});
  x.combine_forward = plan.add_block({"moe combine forward", x.work.combine.forward});
  x.combine_backward = plan.add_block({"moe combine backward", x.work.combine.backward()});
  if (job.parallelism.schedule == PipelineSchedule::zero_bubble_h1) {
    x.router_input_gradient =
        plan.add_block({"moe router backward input gradient", x.work.router.backward_input});
    x.router_weight_gradient =
        plan.add_block({"moe router backward weight gradient", x.work.router.backward_weight});
    x.experts_input_gradient =
        plan.add_block({"moe experts backward input gradient", x.work.experts.backward_input});
    x.experts_weight_gradient =
        plan.add_block({"moe experts backward weight gradient", x.work.experts.backward_weight});
    x.shared_input_gradient = plan.add_block(
        {"moe shared experts backward input gradient", x.work.shared.backward_input});
    x.shared_weight_gradient = plan.add_block(
        {"moe shared experts backward weight gradient", x.work.shared.backward_weight});
  }
  return x;
}

// In a combined 1F1B pair (framework.overlap_moe_expert_parallel_comm) the all-to-all starts
// once the compute before it has produced its tokens and runs on the expert-parallel stream
// beside the chain: the pair's other step computes meanwhile. Nothing in the pair waits for it;
// the chain after the pair waits for all of the pair's all-to-alls (StageBuilder::build). The
// pair thus takes the longer of its compute and its all-to-alls (with the order of both kept),
// where Megatron-Core overlaps them layer by layer in three phases (combine backward beside the
// attention forward; dispatch forward and backward beside the MLP backward and forward; combine
// forward beside the attention backward): a lower bound where one phase's all-to-all outlasts
// the compute beside it.
void StageBuilder::ep_all_to_all(const std::string& label, int mb) {
  if (job_.parallelism.ep <= 1)
    return;
  const double bytes = parts_.blocks->moe->work.dispatch_bytes;
  if (in_combined_pair_) {
    std::vector<std::uint32_t> after;
    if (b_.chain())
      after.push_back(*b_.chain());
    overlapped_all_to_alls_.push_back(
        b_.collective(groups_.ep, CollectiveKind::all_to_all, bytes, Stream::ep_comm,
                      label + " all-to-all (overlapped)", mb, false, std::move(after)));
    return;
  }
  b_.collective(groups_.ep, CollectiveKind::all_to_all, bytes, Stream::ep_comm,
                label + " all-to-all", mb, true);
}

void StageBuilder::expert_tp(CollectiveKind kind, const std::string& label, int mb) {
  if (tp_on_) {
    b_.collective(groups_.tp, kind, parts_.blocks->moe->work.expert_tp_bytes, Stream::tp_comm,
                  label + (kind == CollectiveKind::all_gather ? " all-gather" : " reduce-scatter"),
                  mb, true);
  }
}

void StageBuilder::moe_forward(std::int64_t l, int mb, bool recompute) {
  const MoeBlocks& x = *parts_.blocks->moe;
  const std::string pass = recompute ? "recompute moe " : "moe ";
  // Full recompute keeps nothing in the forward pass; the recompute keeps it all. Selective
  // recompute keeps all but what its modules make again (moe_act: the experts' FC2 input).
  const Recompute mode = job_.parallelism.recompute;
  auto stored = [&](const Block& block) {
    return recompute                 ? block.activation_bytes
           : mode == Recompute::full ? 0.0
                                     : forward_kept_bytes(block, mode);
  };
  b_.compute(x.router_forward, layer_label(l, (pass + "router")), mb, stored(x.work.router));
  ep_all_to_all(layer_label(l, (pass + "dispatch")), mb);
  expert_tp(CollectiveKind::all_gather, layer_label(l, (pass + "experts tp")), mb);
  b_.compute(x.experts_forward, layer_label(l, (pass + "experts")), mb, stored(x.work.experts));
  expert_tp(CollectiveKind::reduce_scatter, layer_label(l, (pass + "experts tp")), mb);
  ep_all_to_all(layer_label(l, (pass + "combine")), mb);
  if (!x.work.shared.forward.empty()) {
    tp_before(tp_bytes_, layer_label(l, (pass + "shared experts tp")), mb);
    b_.compute(x.shared_forward, layer_label(l, (pass + "shared experts")), mb,
               stored(x.work.shared));
    tp_after(tp_bytes_, layer_label(l, (pass + "shared experts tp")), mb);
  }
  b_.compute(x.combine_forward, layer_label(l, (pass + "combine")), mb, stored(x.work.combine));
}

void StageBuilder::moe_backward(std::int64_t l, int mb, bool split) {
  const MoeBlocks& x = *parts_.blocks->moe;
  // Run whole, a block's backward frees everything its forward kept; split, its input gradient
  // frees all but what its weight gradient reads and adds the output gradients it makes for it.
  auto backward = [&](std::uint32_t whole, std::uint32_t input_gradient, const Block& block,
                      const std::string& what) {
    if (split) {
      b_.compute(input_gradient, layer_label(l, what + " input gradient"), mb,
                 weight_gradient_kept_bytes(block) - block.activation_bytes);
    } else {
      b_.compute(whole, layer_label(l, what + " backward"), mb, -block.activation_bytes);
    }
  };
  const bool selective = job_.parallelism.recompute == Recompute::selective;
  if (selective && !x.work.router.recompute_selective.empty()) {
    // The pre-MLP norm's output, which the shared experts' and the router's weight gradients
    // read, made again before the first of them.
    b_.compute(x.router_recompute, layer_label(l, "recompute moe norm"), mb,
               x.work.router.selective_recompute_saved_bytes);
  }
  b_.compute(x.combine_backward, layer_label(l, "moe combine backward"), mb,
             -x.work.combine.activation_bytes);
  if (!x.work.shared.forward.empty()) {
    tp_before(tp_bytes_, layer_label(l, "moe shared experts backward tp"), mb);
    regather_input(layer_label(l, "moe shared experts backward"), mb);
    backward(x.shared_backward, x.shared_input_gradient, x.work.shared, "moe shared experts");
    tp_after(tp_bytes_, layer_label(l, "moe shared experts backward tp"), mb);
  }
  ep_all_to_all(layer_label(l, "moe combine backward"), mb);
  if (selective && !x.work.experts.recompute_selective.empty()) {
    b_.compute(x.experts_recompute, layer_label(l, "recompute moe experts activation"), mb,
               x.work.experts.selective_recompute_saved_bytes);
  }
  expert_tp(CollectiveKind::all_gather, layer_label(l, "moe experts backward tp"), mb);
  backward(x.experts_backward, x.experts_input_gradient, x.work.experts, "moe experts");
  expert_tp(CollectiveKind::reduce_scatter, layer_label(l, "moe experts backward tp"), mb);
  ep_all_to_all(layer_label(l, "moe dispatch backward"), mb);
  backward(x.router_backward, x.router_input_gradient, x.work.router, "moe router");
}

// Nothing waits for these but the gradient reduction; each frees what its input gradient left.
void StageBuilder::moe_weight_gradient(std::int64_t l, int mb) {
  const MoeBlocks& x = *parts_.blocks->moe;
  if (!x.work.shared.forward.empty()) {
    b_.compute(x.shared_weight_gradient, layer_label(l, "moe shared experts weight gradient"), mb,
               -weight_gradient_kept_bytes(x.work.shared));
  }
  b_.compute(x.experts_weight_gradient, layer_label(l, "moe experts weight gradient"), mb,
             -weight_gradient_kept_bytes(x.work.experts));
  b_.compute(x.router_weight_gradient, layer_label(l, "moe router weight gradient"), mb,
             -weight_gradient_kept_bytes(x.work.router));
}

}  // namespace scaleplan::plan_detail
