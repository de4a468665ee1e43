#include "sim/plan/plan.hpp"

#include <map>
#include <stdexcept>
#include <tuple>

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

void validate_plan(const Plan& plan) {
  const Replicas& replicas = plan.replicas;
  if (replicas.count < 1 || replicas.rank_stride < 1) {
    throw std::invalid_argument("plan: replicas need a count and a rank stride of at least 1");
  }
  const int world = plan.world_size();
  if (replicas.count > 1 && world % (replicas.rank_stride * replicas.count) != 0) {
    throw std::invalid_argument(
        "plan: " + std::to_string(plan.ranks.size()) + " listed ranks in " +
        std::to_string(replicas.count) + " replicas of rank stride " +
        std::to_string(replicas.rank_stride) +
        " do not make whole replicas (the world size must be a multiple of stride x count)");
  }
  auto fail = [](const RankProgram& r, std::size_t i, const std::string& what) {
    throw std::invalid_argument("plan: rank " + std::to_string(r.rank) + " op " +
                                std::to_string(i) + ": " + what);
  };
  // Listed ranks are replica 0's in ascending order; with one replica, exactly 0, 1, 2, ...
  std::vector<bool> listed(world, false);
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const RankProgram& program = plan.ranks[i];
    const bool in_order = i == 0 ? program.rank >= 0 : program.rank > plan.ranks[i - 1].rank;
    if (!in_order || program.rank >= world || replicas.replica_of(program.rank) != 0) {
      fail(program, 0,
           replicas.count == 1 ? "ranks must be listed in order 0, 1, 2, ..."
                               : "ranks must be replica 0's, listed in ascending order");
    }
    listed[program.rank] = true;
  }
  // Count per (group, member) and per (sender, receiver) so mismatches are caught up front
  // instead of as a simulation that never ends.
  std::map<std::pair<std::uint32_t, int>, std::size_t> collectives;
  std::map<std::pair<int, int>, long> messages;
  for (const RankProgram& program : plan.ranks) {
    const int r = program.rank;
    for (std::size_t i = 0; i < program.ops.size(); ++i) {
      const Op& op = program.ops[i];
      if (op.label >= plan.labels.size())
        fail(program, i, "label index out of range");
      for (std::uint32_t dep : op.deps) {
        if (dep >= i) {
          fail(program, i,
               "depends on op " + std::to_string(dep) +
                   ", which is not earlier in the program (a cycle or a forward edge)");
        }
      }
      if (!(op.bytes >= 0))
        fail(program, i, "negative byte count");
      switch (op.kind) {
        case OpKind::compute:
          if (op.block >= plan.blocks.size())
            fail(program, i, "block index out of range");
          break;
        case OpKind::collective: {
          if (op.group >= plan.groups.size())
            fail(program, i, "group index out of range");
          const auto& members = plan.groups[op.group].ranks;
          bool member = false;
          for (int m : members)
            member = member || m == r;
          if (!member)
            fail(program, i, "collective on a group this rank is not in");
          ++collectives[{op.group, r}];
          break;
        }
        case OpKind::send:
        case OpKind::recv:
          if (op.peer < 0 || op.peer >= world || op.peer == r) {
            fail(program, i, "peer rank " + std::to_string(op.peer) + " is not another rank");
          }
          if (!listed[op.peer]) {
            fail(program, i,
                 "peer rank " + std::to_string(op.peer) +
                     " is in another data-parallel replica; messages stay inside one");
          }
          if (op.kind == OpKind::send) {
            ++messages[{r, op.peer}];
          } else {
            --messages[{op.peer, r}];
          }
          break;
      }
    }
  }
  for (std::uint32_t g = 0; g < plan.groups.size(); ++g) {
    const auto& members = plan.groups[g].ranks;
    const std::string name = "plan: group " + std::to_string(g) + " (" + plan.groups[g].name + ")";
    std::vector<bool> spans(replicas.count, false);
    int first_listed = -1;
    for (int m : members) {
      if (m < 0 || m >= world) {
        throw std::invalid_argument("plan: group " + std::to_string(g) + " names rank " +
                                    std::to_string(m) + ", which does not exist");
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
        throw std::invalid_argument(name +
                                    " spans replicas that do not tile: a group must span "
                                    "replicas 0..w-1, w dividing the replica count");
      }
    }
    const std::size_t expected = first_listed < 0 ? 0 : collectives[{g, first_listed}];
    for (int m : members) {
      if (listed[m] && collectives[{g, m}] != expected) {
        throw std::invalid_argument(name + ": rank " + std::to_string(m) + " issues " +
                                    std::to_string(collectives[{g, m}]) + " collectives, rank " +
                                    std::to_string(first_listed) + " issues " +
                                    std::to_string(expected));
      }
    }
  }
  for (const auto& [pair, balance] : messages) {
    if (balance != 0) {
      throw std::invalid_argument("plan: rank " + std::to_string(pair.first) + " sends " +
                                  (balance > 0 ? "more" : "fewer") + " messages to rank " +
                                  std::to_string(pair.second) + " than it receives");
    }
  }
}

}  // namespace scaleplan
