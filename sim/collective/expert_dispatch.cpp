#include "sim/collective/expert_dispatch.hpp"

#include <stdexcept>
#include <string>

#include "sim/collective/collective_detail.hpp"

namespace scaleplan {

using namespace collective_detail;

ExpertReach expert_reach(const ExpertRouting& routing, const std::vector<int>& devices,
                         const Topology& topology) {
  const auto members = static_cast<std::int64_t>(devices.size());
  if (members < 1 || routing.experts % members != 0) {
    throw std::invalid_argument("expert dispatch: " + std::to_string(members) +
                                " members do not divide " + std::to_string(routing.experts) +
                                " experts");
  }
  const std::int64_t per_member = routing.experts / members;
  auto experts_of = [&](std::int64_t j, std::vector<std::int64_t>& into) {
    for (std::int64_t e = j * per_member; e < (j + 1) * per_member; ++e)
      into.push_back(e);
  };
  ExpertReach reach;
  std::vector<int> node_of_member;
  for (std::int64_t j = 0; j < members; ++j) {
    std::vector<std::int64_t> held;
    experts_of(j, held);
    reach.member.push_back(1 - expert_set_missed_probability(routing, held));
    node_of_member.push_back(topology.node_of(devices[static_cast<std::size_t>(j)]));
  }
  for (std::int64_t j = 0; j < members; ++j) {
    std::vector<std::int64_t> held;
    for (std::int64_t i = 0; i < members; ++i) {
      if (node_of_member[static_cast<std::size_t>(i)] ==
          node_of_member[static_cast<std::size_t>(j)])
        experts_of(i, held);
    }
    reach.node_of_member.push_back(1 - expert_set_missed_probability(routing, held));
  }
  return reach;
}

std::vector<Phase> expand_expert_dispatch(const ExpertDispatch& dispatch,
                                          const std::vector<int>& devices, double bytes,
                                          const Topology& topology) {
  const ExpertReach reach = expert_reach(dispatch.routing, devices, topology);
  const double tokens_bytes = bytes / dispatch.copies_per_token;
  std::vector<int> index_of(static_cast<std::size_t>(topology.device_count()), -1);
  for (std::size_t j = 0; j < devices.size(); ++j)
    index_of[static_cast<std::size_t>(devices[j])] = static_cast<int>(j);
  auto reach_of = [&](int device) {
    return reach.member[static_cast<std::size_t>(index_of[device])];
  };
  Phase phase;
  auto add = [&](int src, int dst, double amount) {
    if (amount > 0)
      phase.transfers.push_back({src, dst, amount});
  };
  const std::vector<std::vector<int>> nodes = members_by_node(devices, topology);
  bool relay = uniform_members_per_node(nodes).has_value();
  for (const auto& members : nodes) {
    relay =
        relay && topology.node_fabric_of(topology.node_of(members.front())) == NodeFabric::nvswitch;
  }
  if (!relay) {
    for (int src : devices) {
      for (int dst : devices) {
        if (src != dst)
          add(src, dst, tokens_bytes * reach_of(dst));
      }
    }
    return {phase};
  }
  const double node_count = static_cast<double>(nodes.size());
  for (std::size_t from = 0; from < nodes.size(); ++from) {
    for (std::size_t local = 0; local < nodes[from].size(); ++local) {
      for (std::size_t to = 0; to < nodes.size(); ++to) {
        if (to == from)
          continue;
        const int proxy = nodes[to][local];
        add(nodes[from][local], proxy,
            tokens_bytes * reach.node_of_member[static_cast<std::size_t>(index_of[proxy])]);
      }
    }
  }
  for (const auto& members : nodes) {
    for (int forwarder : members) {
      for (int dst : members) {
        if (dst != forwarder)
          add(forwarder, dst, node_count * tokens_bytes * reach_of(dst));
      }
    }
  }
  return {phase};
}

}  // namespace scaleplan
