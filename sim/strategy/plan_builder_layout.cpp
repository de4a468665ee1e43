// Where ranks and layers go: rank coordinates, the layers of each model chunk, the groups of
// ranks, and the programs of a stage's ranks sharing the first's ops.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan {

RankCoordinates coordinates_of(int rank, const ParallelismSpec& p) {
  RankCoordinates c;
  c.tp = rank % p.tp;
  rank /= p.tp;
  c.cp = rank % p.cp;
  rank /= p.cp;
  c.dp = rank % p.dp;
  c.pp = rank / p.dp;
  return c;
}

int rank_of(const RankCoordinates& c, const ParallelismSpec& p) {
  return c.tp + p.tp * (c.cp + p.cp * (c.dp + p.dp * c.pp));
}

int microbatches_per_replica(const TrainingJob& job) {
  return static_cast<int>(job.training.global_batch /
                          job.training.micro_batches_sum(job.parallelism.dp));
}

std::vector<std::int64_t> layers_of_chunks(const TrainingJob& job) {
  if (!job.parallelism.stage_layers.empty())
    return job.parallelism.stage_layers;
  return chunk_layers(job.model.layers, plan_detail::model_chunks(job.parallelism));
}

TransformerConfig graph_job_model(const LayerGraph& graph) {
  TransformerConfig m;
  m.name = graph.name;
  m.layers = static_cast<std::int64_t>(graph.layers.size());
  m.hidden = m.ffn_hidden = m.heads = m.kv_heads = m.vocab = m.seq_len = 1;
  m.tied_embeddings = false;
  m.learned_positions = false;
  return m;
}

void set_graph(TrainingJob& job, LayerGraph graph) {
  if (is_decoder_graph(graph)) {
    DecoderReading decoder = decoder_config(graph);
    if (!decoder.config) {
      throw std::invalid_argument("set_graph: layer " + std::to_string(decoder.layer) + " of " +
                                  graph.name + ": " + decoder.problem);
    }
    job.model = std::move(*decoder.config);
  } else {
    job.model = graph_job_model(graph);
  }
  job.graph = std::make_shared<const LayerGraph>(std::move(graph));
}

bool runs_partitioned(const LayerGraph& graph) {
  return is_decoder_graph(graph);
}

bool runs_partitioned(const TrainingJob& job) {
  return !job.graph || runs_partitioned(*job.graph);
}

std::vector<std::int64_t> chunk_layers(std::int64_t layers, int chunks) {
  if (chunks < 1 || layers < 1 || layers < static_cast<std::int64_t>(chunks) - 2)
    throw std::invalid_argument("every pipeline chunk but the first and last needs a layer");
  const std::int64_t share = (layers + chunks - 1) / chunks;
  std::vector<std::int64_t> counts(chunks, share);
  std::int64_t surplus = share * chunks - layers;
  for (int k = 0; surplus > 0; ++k, --surplus)
    --counts[k % 2 == 0 ? k / 2 : chunks - 1 - k / 2];
  return counts;
}

// Expert parallelism takes blocks of ep consecutive data-parallel indices (Megatron-LM's order
// tp-cp-ep-dp), so that an expert-parallel group of the same tensor and context rank spans
// tp·cp·ep consecutive ranks; its expert data-parallel group holds the ranks with the same index
// in their block, over every block and context rank.
std::vector<int> group_ranks(GroupKind kind, int rank, const ParallelismSpec& p) {
  const RankCoordinates c = coordinates_of(rank, p);
  std::vector<int> ranks;
  switch (kind) {
    case GroupKind::tp:
      for (int t = 0; t < p.tp; ++t)
        ranks.push_back(rank_of({t, c.cp, c.dp, c.pp}, p));
      break;
    case GroupKind::dp:
      for (int k = 0; k < p.cp; ++k) {
        for (int d = 0; d < p.dp; ++d)
          ranks.push_back(rank_of({c.tp, k, d, c.pp}, p));
      }
      break;
    case GroupKind::cp:
      for (int k = 0; k < p.cp; ++k)
        ranks.push_back(rank_of({c.tp, k, c.dp, c.pp}, p));
      break;
    case GroupKind::ep:
      for (int e = 0; e < p.ep; ++e)
        ranks.push_back(rank_of({c.tp, c.cp, c.dp - c.dp % p.ep + e, c.pp}, p));
      break;
    case GroupKind::edp:
      for (int k = 0; k < p.cp; ++k) {
        for (int d = c.dp % p.ep; d < p.dp; d += p.ep)
          ranks.push_back(rank_of({c.tp, k, d, c.pp}, p));
      }
      break;
    case GroupKind::dp_shard: {
      const int block = p.dp / p.dcn_dp;
      for (int k = 0; k < p.cp; ++k) {
        for (int d = c.dp - c.dp % block; d < c.dp - c.dp % block + block; ++d)
          ranks.push_back(rank_of({c.tp, k, d, c.pp}, p));
      }
      break;
    }
    case GroupKind::dp_cross: {
      const int block = p.dp / p.dcn_dp;
      for (int d = c.dp % block; d < p.dp; d += block)
        ranks.push_back(rank_of({c.tp, c.cp, d, c.pp}, p));
      break;
    }
  }
  return ranks;
}

int group_leader(GroupKind kind, int rank, const ParallelismSpec& p) {
  const RankCoordinates c = coordinates_of(rank, p);
  switch (kind) {
    case GroupKind::tp:
      return rank_of({0, c.cp, c.dp, c.pp}, p);
    case GroupKind::dp:
      return rank_of({c.tp, 0, 0, c.pp}, p);
    case GroupKind::cp:
      return rank_of({c.tp, 0, c.dp, c.pp}, p);
    case GroupKind::ep:
      return rank_of({c.tp, c.cp, c.dp - c.dp % p.ep, c.pp}, p);
    case GroupKind::edp:
      return rank_of({c.tp, 0, c.dp % p.ep, c.pp}, p);
    case GroupKind::dp_shard:
      return rank_of({c.tp, 0, c.dp - c.dp % (p.dp / p.dcn_dp), c.pp}, p);
    case GroupKind::dp_cross:
      return rank_of({c.tp, c.cp, c.dp % (p.dp / p.dcn_dp), c.pp}, p);
  }
  return rank;
}

namespace plan_detail {

int model_chunks(const ParallelismSpec& p) {
  return p.pp * (p.schedule == PipelineSchedule::interleaved_1f1b ? p.virtual_stages : 1);
}

bool listed(int rank, const ParallelismSpec& p, const Replicas& replicas) {
  (void)p;
  return replicas.count == 1 || replicas.replica_of(rank) == 0;
}

std::vector<GroupsOfRank> make_groups(Plan& plan, const TrainingJob& job) {
  const auto& p = job.parallelism;
  const auto& m = job.model;
  const ReplicaCounts replicas = replica_counts(p);
  const int world = p.world_size();
  std::vector<GroupsOfRank> groups(world);
  // Adds the `kind` group of rank r, named `name`, and records it for every member.
  const auto add = [&](GroupKind kind, int r, const char* name, std::uint32_t GroupsOfRank::*of) {
    const auto id = plan.add_group({name, group_ranks(kind, r, p), std::nullopt});
    for (int member : plan.groups[id].ranks)
      groups[member].*of = id;
    return id;
  };
  const std::optional<ExpertDispatch> dispatch = expert_dispatch_of(job);
  for (int r = 0; r < world; ++r) {
    const RankCoordinates c = coordinates_of(r, p);
    const bool is_listed = listed(r, p, plan.replicas);
    if (c.tp == 0 && p.tp > 1 && is_listed)
      add(GroupKind::tp, r, "tp", &GroupsOfRank::tp);
    if (c.dp == 0 && c.cp == 0 && replicas.dense > 1)
      add(GroupKind::dp, r, "dp", &GroupsOfRank::dp);
    if (p.sharding == WeightSharding::two_d && p.dcn_dp > 1) {
      const int block = p.dp / p.dcn_dp;
      if (c.dp % block == 0 && c.cp == 0)
        add(GroupKind::dp_shard, r, "dp_shard", &GroupsOfRank::dp_shard);
      if (c.dp < block && is_listed)
        add(GroupKind::dp_cross, r, "dp_cross", &GroupsOfRank::dp_cross);
    }
    if (c.cp == 0 && p.cp > 1 && is_listed)
      add(GroupKind::cp, r, "cp", &GroupsOfRank::cp);
    if (c.dp % p.ep == 0 && p.ep > 1 && is_listed)
      plan.groups[add(GroupKind::ep, r, "ep", &GroupsOfRank::ep)].expert_dispatch = dispatch;
    if (m.is_moe() && c.dp < p.ep && c.cp == 0 && replicas.expert > 1)
      add(GroupKind::edp, r, "edp", &GroupsOfRank::edp);
    if (c.pp == 0 && p.pp > 1 && m.embedding_on_last_stage() && is_listed) {
      const int last = rank_of({c.tp, c.cp, c.dp, p.pp - 1}, p);
      const auto id = plan.add_group({"embedding", {r, last}, {}});
      groups[r].embedding = groups[last].embedding = id;
    }
  }
  return groups;
}

namespace {

constexpr std::pair<std::string_view, std::uint32_t GroupsOfRank::*> groups_by_name[] = {
    {"tp", &GroupsOfRank::tp},
    {"dp", &GroupsOfRank::dp},
    {"cp", &GroupsOfRank::cp},
    {"ep", &GroupsOfRank::ep},
    {"edp", &GroupsOfRank::edp},
    {"embedding", &GroupsOfRank::embedding},
    {"dp_shard", &GroupsOfRank::dp_shard},
    {"dp_cross", &GroupsOfRank::dp_cross}};

// The group of `rank` that stands where `group_of_built` stands for `built`.
std::uint32_t counterpart(const Plan& plan, const std::vector<GroupsOfRank>& groups,
                          std::uint32_t group_of_built, int built, int rank) {
  for (const auto& [name, member] : groups_by_name) {
    if (plan.groups[group_of_built].name == name && groups[built].*member == group_of_built)
      return groups[rank].*member;
  }
  throw std::logic_error("plan builder: group " + plan.groups[group_of_built].name +
                         " has no counterpart for rank " + std::to_string(rank));
}

}  // namespace

RankProgram share_program(const Plan& plan, const std::vector<GroupsOfRank>& groups,
                          std::size_t built_index, int rank) {
  const RankProgram& built = plan.ranks[built_index];
  RankProgram shared;
  shared.rank = rank;
  shared.device = rank;
  shared.static_memory = built.static_memory;
  shared.shares = static_cast<std::int32_t>(built_index);
  shared.peer_offset = rank - built.rank;  // the peers differ from the rank in pp alone
  std::vector<std::uint32_t> named;
  for (const Op& op : built.ops) {
    if (op.kind == OpKind::collective)
      named.push_back(op.group);
  }
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  for (std::uint32_t group : named)
    shared.group_map.emplace_back(group, counterpart(plan, groups, group, built.rank, rank));
  return shared;
}

void add_rank_programs(Plan& plan, const TrainingJob& job, const std::vector<GroupsOfRank>& groups,
                       const std::function<void(RankProgram&)>& build_stage) {
  // Every rank of a stage runs the same program on its own groups and pipeline peers, so the
  // first is built and the others share its ops with those swapped: building (labels,
  // dependencies) was most of the cost of a plan with a thousand ranks, and copies of the ops
  // most of its memory.
  const ParallelismSpec& p = job.parallelism;
  std::vector<int> built_of_stage(p.pp, -1);  // index in plan.ranks of the stage's built program
  for (int r = 0; r < p.world_size(); ++r) {
    if (!listed(r, p, plan.replicas))
      continue;
    const int stage = coordinates_of(r, p).pp;
    if (const int built = built_of_stage[stage]; built >= 0) {
      plan.ranks.push_back(share_program(plan, groups, static_cast<std::size_t>(built), r));
      continue;
    }
    built_of_stage[stage] = static_cast<int>(plan.ranks.size());
    RankProgram& program = plan.ranks.emplace_back();
    program.rank = r;
    program.device = r;
    program.static_memory = static_memory_of_stage(job, stage);
    build_stage(program);
  }
}

}  // namespace plan_detail
}  // namespace scaleplan
