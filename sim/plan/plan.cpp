#include "sim/plan/plan.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "hardware/cluster.hpp"
#include "hardware/input/checked_math.hpp"

namespace scaleplan {

std::uint32_t Plan::label(std::string_view text) {
  auto [it, inserted] =
      label_index_.try_emplace(std::string(text), static_cast<std::uint32_t>(labels.size()));
  if (inserted)
    labels.emplace_back(text);
  return it->second;
}

std::uint32_t Plan::add_block(ComputeBlock block) {
  blocks.push_back(std::move(block));
  return static_cast<std::uint32_t>(blocks.size() - 1);
}

std::uint32_t Plan::add_group(Group group) {
  groups.push_back(std::move(group));
  return static_cast<std::uint32_t>(groups.size() - 1);
}

std::uint32_t Plan::group_of(std::size_t index, const Op& op) const {
  const RankProgram& program = ranks[index];
  if (program.shares < 0)
    return op.group;
  const auto& map = program.group_map;
  const auto found = std::lower_bound(map.begin(), map.end(), op.group,
                                      [](const std::pair<std::uint32_t, std::uint32_t>& entry,
                                         std::uint32_t group) { return entry.first < group; });
  if (found == map.end() || found->first != op.group) {
    throw PlanError("plan: rank " + std::to_string(program.rank) + " shares the ops of rank " +
                        std::to_string(ranks[static_cast<std::size_t>(program.shares)].rank) +
                        " but maps no group of its for group " + std::to_string(op.group),
                    {PlanPlace::Kind::rank, index});
  }
  return found->second;
}

void Plan::unshare() {
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i].shares < 0)
      continue;
    std::vector<Op> ops = ops_of(i);
    for (Op& op : ops) {
      if (op.kind == OpKind::collective)
        op.group = group_of(i, op);
      else if (op.kind == OpKind::send || op.kind == OpKind::recv)
        op.peer = peer_of(i, op);
    }
    RankProgram& program = ranks[i];
    program.ops = std::move(ops);
    program.shares = -1;
    program.group_map.clear();
    program.peer_offset = 0;
  }
}

namespace {

using Kind = PlanPlace::Kind;

// The ranks the plan stands for, its listed ranks times its replicas, checked before anything is
// sized by it: a product that wrapped could be zero (and divide) or small (and index out of
// bounds).
int checked_world_size(const Plan& plan) {
  const Replicas& replicas = plan.replicas;
  if (replicas.count < 1 || replicas.rank_stride < 1) {
    throw PlanError("plan: replicas need a count and a rank stride of at least 1",
                    {Kind::replicas});
  }
  const std::optional<std::int64_t> world_ranks =
      checked_product({static_cast<std::int64_t>(plan.ranks.size()), replicas.count});
  if (!world_ranks || *world_ranks > max_devices) {
    throw PlanError(
        fmt::format("plan: {} listed ranks in {} replicas make {} ranks; a plan runs "
                    "on at most {} devices",
                    plan.ranks.size(), replicas.count,
                    world_ranks ? fmt::format("{}", *world_ranks) : "more than 2^63", max_devices),
        {Kind::replicas});
  }
  const int world = static_cast<int>(*world_ranks);
  const std::int64_t replica_span = std::int64_t{replicas.rank_stride} * replicas.count;
  if (replicas.count > 1 && (replica_span > world || world % replica_span != 0)) {
    throw PlanError(
        fmt::format("plan: {} listed ranks in {} replicas of rank stride {} do not make whole "
                    "replicas (the world size must be a multiple of stride x count)",
                    plan.ranks.size(), replicas.count, replicas.rank_stride),
        {Kind::replicas});
  }
  return world;
}

// Which of the `world` ranks the plan lists: replica 0's in ascending order; with one replica,
// exactly 0, 1, 2, ...
std::vector<bool> listed_ranks(const Plan& plan, int world) {
  const Replicas& replicas = plan.replicas;
  std::vector<bool> listed(static_cast<std::size_t>(world), false);
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const RankProgram& program = plan.ranks[i];
    const bool in_order = i == 0 ? program.rank >= 0 : program.rank > plan.ranks[i - 1].rank;
    if (!in_order || program.rank >= world || replicas.replica_of(program.rank) != 0) {
      throw PlanError(
          "plan: rank " + std::to_string(program.rank) + ": " +
              (replicas.count == 1 ? "ranks must be listed in order 0, 1, 2, ..."
                                   : "ranks must be replica 0's, listed in ascending order"),
          {Kind::rank, i});
    }
    listed[static_cast<std::size_t>(program.rank)] = true;
    // Which devices exist is the cluster's to say (the simulator checks); a negative index is
    // never one, and the plan format refuses it.
    if (program.device < 0) {
      throw PlanError("plan: rank " + std::to_string(program.rank) + " runs on device " +
                          std::to_string(program.device) + ", which is not a device index",
                      {Kind::rank, i});
    }
  }
  return listed;
}

// A program that shares another's ops shares one that holds its own, earlier in the plan, and maps
// each of that program's groups to a distinct existing group, so that its ops match on its
// channels in the order the shared program's do on theirs; one that does not share maps nothing.
void check_shared_programs(const Plan& plan) {
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const RankProgram& program = plan.ranks[i];
    auto fail = [&](const std::string& what) {
      throw PlanError("plan: rank " + std::to_string(program.rank) + ": " + what, {Kind::rank, i});
    };
    if (program.shares < 0) {
      if (!program.group_map.empty() || program.peer_offset != 0)
        fail("a group map or peer offset without a shared program");
      continue;
    }
    const auto shared = static_cast<std::size_t>(program.shares);
    if (shared >= i || plan.ranks[shared].shares >= 0 || !program.ops.empty())
      fail("a program shares the ops of an earlier program that holds its own, and holds none");
    std::vector<std::uint32_t> mapped;
    for (std::size_t k = 0; k < program.group_map.size(); ++k) {
      if (program.group_map[k].second >= plan.groups.size() ||
          (k > 0 && program.group_map[k - 1].first >= program.group_map[k].first))
        fail("its group map must name existing groups, sorted");
      mapped.push_back(program.group_map[k].second);
    }
    std::sort(mapped.begin(), mapped.end());
    if (std::adjacent_find(mapped.begin(), mapped.end()) != mapped.end())
      fail("its group map maps two groups to one");
  }
}

// Collectives counted per (group, member) and messages per (sender, receiver), so that
// mismatches are caught up front instead of as a simulation that never ends.
struct OpCounts {
  std::map<std::pair<std::uint32_t, int>, std::size_t> collectives;
  std::map<std::pair<int, int>, long> messages;
};

// Checks every op's indices, dependencies and peers, and counts them.
OpCounts checked_op_counts(const Plan& plan, int world, const std::vector<bool>& listed) {
  auto fail = [&plan](std::size_t rank_index, std::size_t i, const std::string& what) {
    throw PlanError("plan: rank " + std::to_string(plan.ranks[rank_index].rank) + " op " +
                        std::to_string(i) + ": " + what,
                    {Kind::op, rank_index, i});
  };
  OpCounts counts;
  for (std::size_t rank_index = 0; rank_index < plan.ranks.size(); ++rank_index) {
    const RankProgram& program = plan.ranks[rank_index];
    const int r = program.rank;
    const std::vector<Op>& ops = plan.ops_of(rank_index);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      if (op.label >= plan.labels.size())
        fail(rank_index, i, "label index out of range");
      for (std::uint32_t dep : op.deps) {
        if (dep >= i) {
          fail(rank_index, i,
               "depends on op " + std::to_string(dep) +
                   ", which is not earlier in the program (a cycle or a forward edge)");
        }
      }
      if (!(op.bytes >= 0))
        fail(rank_index, i, "negative byte count");
      switch (op.kind) {
        case OpKind::compute:
          if (op.block >= plan.blocks.size())
            fail(rank_index, i, "block index out of range");
          break;
        case OpKind::collective: {
          if (op.group >= plan.groups.size())
            fail(rank_index, i, "group index out of range");
          const std::uint32_t group = plan.group_of(rank_index, op);
          // Membership is searched once per (group, rank), at the rank's first collective there:
          // a data-parallel group of thousands of ranks sees hundreds of collectives from each.
          const auto [count, first] = counts.collectives.try_emplace({group, r}, 0);
          const auto& members = plan.groups[group].ranks;
          if (first && std::find(members.begin(), members.end(), r) == members.end())
            fail(rank_index, i, "collective on a group this rank is not in");
          ++count->second;
          break;
        }
        case OpKind::send:
        case OpKind::recv: {
          const std::int64_t peer = std::int64_t{op.peer} + program.peer_offset;
          if (peer < 0 || peer >= world || peer == r)
            fail(rank_index, i, "peer rank " + std::to_string(peer) + " is not another rank");
          if (!listed[static_cast<std::size_t>(peer)]) {
            fail(rank_index, i,
                 "peer rank " + std::to_string(peer) +
                     " is in another data-parallel replica; messages stay inside one");
          }
          if (op.kind == OpKind::send) {
            ++counts.messages[{r, static_cast<int>(peer)}];
          } else {
            --counts.messages[{static_cast<int>(peer), r}];
          }
          break;
        }
      }
    }
  }
  return counts;
}

// Every group names existing ranks, tiles the replicas, and has each listed member issue as many
// collectives.
void check_groups(const Plan& plan, int world, const std::vector<bool>& listed, OpCounts& counts) {
  const Replicas& replicas = plan.replicas;
  for (std::uint32_t g = 0; g < plan.groups.size(); ++g) {
    const auto& members = plan.groups[g].ranks;
    const std::string name = "plan: group " + std::to_string(g) + " (" + plan.groups[g].name + ")";
    std::vector<bool> spans(replicas.count, false);
    int first_listed = -1;
    for (int m : members) {
      if (m < 0 || m >= world) {
        throw PlanError("plan: group " + std::to_string(g) + " names rank " + std::to_string(m) +
                            ", which does not exist",
                        {Kind::group, g});
      }
      spans[replicas.replica_of(m)] = true;
      if (listed[m] && first_listed < 0)
        first_listed = m;
    }
    int width = 0;
    while (width < replicas.count && spans[width])
      ++width;
    for (int k = width; k < replicas.count; ++k) {
      if (spans[k] || width == 0 || replicas.count % width != 0) {
        throw PlanError(name +
                            " spans replicas that do not tile: a group must span replicas "
                            "0..w-1, w dividing the replica count",
                        {Kind::group, g});
      }
    }
    const std::size_t expected = first_listed < 0 ? 0 : counts.collectives[{g, first_listed}];
    for (int m : members) {
      if (listed[m] && counts.collectives[{g, m}] != expected) {
        throw PlanError(name + ": rank " + std::to_string(m) + " issues " +
                            std::to_string(counts.collectives[{g, m}]) + " collectives, rank " +
                            std::to_string(first_listed) + " issues " + std::to_string(expected),
                        {Kind::group, g});
      }
    }
  }
}

// Every rank receives as many messages from each peer as the peer sends it.
void check_messages_balance(const Plan& plan, const OpCounts& counts) {
  for (const auto& [pair, balance] : counts.messages) {
    if (balance != 0) {
      // Listed ranks are in ascending order (checked before).
      const auto sender = std::lower_bound(
          plan.ranks.begin(), plan.ranks.end(), pair.first,
          [](const RankProgram& program, int rank) { return program.rank < rank; });
      throw PlanError("plan: rank " + std::to_string(pair.first) + " sends " +
                          (balance > 0 ? "more" : "fewer") + " messages to rank " +
                          std::to_string(pair.second) + " than it receives",
                      {Kind::rank, static_cast<std::size_t>(sender - plan.ranks.begin())});
    }
  }
}

}  // namespace

void validate_plan(const Plan& plan) {
  const int world = checked_world_size(plan);
  const std::vector<bool> listed = listed_ranks(plan, world);
  check_shared_programs(plan);
  OpCounts counts = checked_op_counts(plan, world, listed);
  check_groups(plan, world, listed, counts);
  check_messages_balance(plan, counts);
}

}  // namespace scaleplan
