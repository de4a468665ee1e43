#include "sim/simulate/network_model_choice.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace scaleplan {

namespace {

// Per route of a collective, and for the messages as one: the flows it would start and the
// devices they start from.
struct Demand {
  std::uint64_t flows = 0;
  std::vector<int> sources;
  std::optional<std::uint32_t> route;  // none: the messages
};

Demand collective_demand(const CommRoute& route, std::uint64_t occurrences, std::uint32_t id) {
  Demand d;
  d.route = id;
  // A fitted collective is timed by its fit on the fast path: it starts no flows.
  if (route.fitted)
    return d;
  for (const Phase& phase : route.phases) {
    d.flows += phase.transfers.size() * occurrences;
    for (const Transfer& tr : phase.transfers)
      d.sources.push_back(tr.src_device);
  }
  return d;
}

}  // namespace

FlowDemand choose_network_models(const Plan& plan, const Topology& topology,
                                 const SimulationOptions& options, CommRoutes& routes) {
  Demand messages;
  std::vector<std::uint64_t> occurrences;  // per route: its collectives in the step
  for (std::size_t index = 0; index < plan.ranks.size(); ++index) {
    const RankProgram& program = plan.ranks[index];
    for (const Op& op : plan.ops_of(index)) {
      if (op.kind == OpKind::send) {
        const int peer_device = routes.device_of_rank(plan.peer_of(index, op));
        if (routes.message_fitted(program.device, peer_device, op.bytes))
          continue;
        const Phase phase = routes.message_phase(program.device, peer_device, op.bytes);
        messages.flows += phase.transfers.size();
        for (const Transfer& tr : phase.transfers)
          messages.sources.push_back(tr.src_device);
      } else if (op.kind == OpKind::collective &&
                 routes.first_listed_member(plan.group_of(index, op)) == program.rank) {
        const std::uint32_t id = routes.collective(op, plan.group_of(index, op));
        occurrences.resize(std::max<std::size_t>(occurrences.size(), id + 1), 0);
        ++occurrences[id];
      }
    }
  }
  std::vector<Demand> demands;
  for (const std::uint32_t id : routes.collectives_in_key_order())
    demands.push_back(
        collective_demand(routes[id], id < occurrences.size() ? occurrences[id] : 0, id));
  demands.push_back(std::move(messages));
  // Devices routed from, and the route classes whose tables they read (topology.hpp): a class's
  // table is searched once, whichever of its devices routes first.
  std::vector<std::uint32_t> users(topology.device_count(), 0);
  std::vector<std::uint32_t> class_users(topology.route_class_count(), 0);
  // Each demand's distinct sources, kept in first-seen order (only counted below): a stamp per
  // device rather than a sort of millions of transfers' sources.
  std::vector<std::size_t> seen_by(topology.device_count(), SIZE_MAX);
  std::uint64_t flows = 0, sources = 0, classes = 0;
  const auto use = [&](int src) {
    sources += users[src]++ == 0 ? 1 : 0;
    classes += class_users[topology.route_class(src)]++ == 0 ? 1 : 0;
  };
  const auto release = [&](int src) {
    sources -= --users[src] == 0 ? 1 : 0;
    classes -= --class_users[topology.route_class(src)] == 0 ? 1 : 0;
  };
  for (std::size_t k = 0; k < demands.size(); ++k) {
    Demand& d = demands[k];
    std::size_t kept = 0;
    for (const int src : d.sources) {
      if (seen_by[src] != k) {
        seen_by[src] = k;
        d.sources[kept++] = src;
      }
    }
    d.sources.resize(kept);
    flows += d.flows;
    for (int src : d.sources)
      use(src);
  }
  const FlowDemand all_flows{flows, sources, classes};
  const NetworkModel model = options.network_model;
  const double class_work = topology.route_class_search_work();
  if (model == NetworkModel::flows) {
    const double search_work = static_cast<double>(classes) * class_work;
    if (flows > options.flow_limit || search_work > options.route_search_limit) {
      throw NetworkModelError(fmt::format(
          "as flows the step would start {} flows from {} devices, whose routes read the hop "
          "tables of {} route classes, each a search of {:.0f} vertices and links of the network "
          "({:.3g} of route search, about {:.2g} GB of tables); flows carry at most {} flows and "
          "{:.3g} of route search, and the automatic model puts what is beyond its budget on the "
          "alpha-beta fast path",
          flows, sources, classes, class_work, search_work,
          static_cast<double>(classes) * static_cast<double>(topology.route_class_table_bytes()) /
              1e9,
          options.flow_limit, options.route_search_limit));
    }
    return all_flows;
  }
  // Most flows first; equal ones in key order, the messages after the collectives.
  std::stable_sort(demands.begin(), demands.end(),
                   [](const Demand& a, const Demand& b) { return a.flows > b.flows; });
  const auto network_size = static_cast<double>(topology.vertex_count() + topology.link_count());
  for (const Demand& d : demands) {
    const double search_work = static_cast<double>(classes) * class_work;
    const double spread = static_cast<double>(sources) * network_size;
    if (model == NetworkModel::automatic && flows <= options.flow_budget &&
        search_work <= options.route_search_budget && spread <= options.flow_source_budget)
      break;
    if (d.route) {
      routes[*d.route].alpha_beta = true;
    } else {
      routes.set_messages_alpha_beta(true);
    }
    flows -= d.flows;
    for (int src : d.sources)
      release(src);
  }
  return all_flows;
}

}  // namespace scaleplan
