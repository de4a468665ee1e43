// Where an MoE router sends a token's top_k experts, as far as the token dispatch cares: the
// chance that a token's experts all miss a given set of experts (those one device holds, or one
// node). Under a dispatcher that sends a token once per destination device or node (DeepEP), the
// expected bytes on each tier follow from these chances; an all-to-all that sends one copy per
// (token, expert) moves the same bytes whatever the routing.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hardware/input/enum_names.hpp"

namespace scaleplan {

// uniform: the top_k of independent, identically distributed scores over all experts: every set
//   of top_k distinct experts is equally likely (a trained router with balanced load, Megatron-
//   Core's moe_router_force_load_balancing, which routes on random logits: moe_utils.py
//   apply_random_logits).
// group_limited: the experts form router_groups equal blocks of consecutive experts; a token
//   picks router_group_topk blocks, then its top_k experts among them (DeepSeek-V3's node-limited
//   routing, arXiv:2412.19437 section 2.1.2, "each token will be sent to at most M nodes";
//   Megatron-Core's --moe-router-num-groups / --moe-router-group-topk, moe_utils.py
//   group_limited_topk, which ranks a block by the sum of its top top_k/group_topk scores). With
//   balanced scores every choice of blocks is equally likely and each chosen block gives the token
//   top_k/group_topk of its experts, every such choice equally likely: the blocks are chosen for
//   their best experts, which the top_k then keeps.
// round_robin: token i of a rank's batch goes to experts top_k·i .. top_k·i + top_k − 1 modulo
//   experts, the same on every rank (NeMo AutoModel's FakeBalancedGate for benchmarks,
//   nemo_automodel/components/moe/layers.py: indices = arange(tokens · top_k).view(-1, top_k) %
//   n_experts): each token's experts are consecutive, so they sit on one or two devices.
enum class ExpertRoutingKind { uniform, group_limited, round_robin };

inline constexpr EnumNames<ExpertRoutingKind, 3> expert_routing_kind_names{{{
    {ExpertRoutingKind::uniform, "uniform"},
    {ExpertRoutingKind::group_limited, "group-limited"},
    {ExpertRoutingKind::round_robin, "round-robin"},
}}};

inline std::string_view to_string(ExpertRoutingKind kind) {
  return expert_routing_kind_names.name(kind);
}

struct ExpertRouting {
  ExpertRoutingKind kind = ExpertRoutingKind::uniform;
  std::int64_t experts = 1;
  std::int64_t top_k = 1;
  // group_limited only: blocks of experts and blocks each token picks (router_groups divides
  // experts, router_group_topk divides top_k, router_group_topk ≤ router_groups).
  std::int64_t router_groups = 1;
  std::int64_t router_group_topk = 1;

  bool operator==(const ExpertRouting&) const = default;
};

// The probability that none of a token's top_k experts is in `held` (distinct expert indices in
// [0, experts)). Exact: uniform C(E − s, k) / C(E, k) for s held experts; group_limited the mean
// over the equally likely choices of blocks of the product, over the chosen blocks, of
// C(B − s_b, k/M) / C(B, k/M) (B experts a block, s_b of them held); round_robin the share of one
// period of token indices whose experts miss `held`. Throws std::invalid_argument for a routing
// that breaks the rules above.
double expert_set_missed_probability(const ExpertRouting& routing,
                                     const std::vector<std::int64_t>& held);

}  // namespace scaleplan
