#include "sim/plan.hpp"

#include <map>
#include <stdexcept>
#include <tuple>

namespace scaleplan {

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::compute:
      return "compute";
    case OpKind::collective:
      return "collective";
    case OpKind::send:
      return "send";
    case OpKind::recv:
      return "recv";
  }
  return "?";
}

std::string_view to_string(Stream stream) {
  switch (stream) {
    case Stream::compute:
      return "compute";
    case Stream::tp_comm:
      return "tp-comm";
    case Stream::cp_comm:
      return "cp-comm";
    case Stream::ep_comm:
      return "ep-comm";
    case Stream::dp_comm:
      return "dp-comm";
    case Stream::pp_send_next:
      return "pp-send-next";
    case Stream::pp_recv_prev:
      return "pp-recv-prev";
    case Stream::pp_send_prev:
      return "pp-send-prev";
    case Stream::pp_recv_next:
      return "pp-recv-next";
    case Stream::param_gather:
      return "param-gather";
  }
  return "?";
}

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
  const int rank_count = static_cast<int>(plan.ranks.size());
  auto fail = [](const RankProgram& r, std::size_t i, const std::string& what) {
    throw std::invalid_argument("plan: rank " + std::to_string(r.rank) + " op " +
                                std::to_string(i) + ": " + what);
  };
  // Count per (group, member) and per (sender, receiver) so mismatches are caught up front
  // instead of as a simulation that never ends.
  std::map<std::pair<std::uint32_t, int>, std::size_t> collectives;
  std::map<std::pair<int, int>, long> messages;
  for (int r = 0; r < rank_count; ++r) {
    const RankProgram& program = plan.ranks[r];
    if (program.rank != r)
      fail(program, 0, "ranks must be listed in order 0, 1, 2, ...");
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
          if (op.peer < 0 || op.peer >= rank_count || op.peer == r) {
            fail(program, i, "peer rank " + std::to_string(op.peer) + " is not another rank");
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
    for (int m : members) {
      if (m < 0 || m >= rank_count) {
        throw std::invalid_argument("plan: group " + std::to_string(g) + " names rank " +
                                    std::to_string(m) + ", which does not exist");
      }
    }
    std::size_t expected = members.empty() ? 0 : collectives[{g, members.front()}];
    for (int m : members) {
      if (collectives[{g, m}] != expected) {
        throw std::invalid_argument("plan: group " + std::to_string(g) + " (" +
                                    plan.groups[g].name + "): rank " + std::to_string(m) +
                                    " issues " + std::to_string(collectives[{g, m}]) +
                                    " collectives, rank " + std::to_string(members.front()) +
                                    " issues " + std::to_string(expected));
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
