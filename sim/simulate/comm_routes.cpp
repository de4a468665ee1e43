#include "sim/simulate/comm_routes.hpp"

#include <algorithm>
#include <tuple>

#include "sim/collective/expert_dispatch.hpp"

namespace scaleplan {

CommRoutes::CommRoutes(const Plan& plan, const Topology& topology, double collective_step_latency_s,
                       std::optional<CollectiveAlgorithm> forced_algorithm,
                       const CollectiveCalibration* calibration)
    : plan_(plan),
      topology_(topology),
      step_latency_s_(collective_step_latency_s),
      forced_algorithm_(forced_algorithm),
      slot_of_rank_(plan.world_size(), -1),
      collective_routes_(plan.groups.size()),
      message_routes_(topology.device_count()),
      calibration_(calibration && !calibration->empty() ? calibration : nullptr) {
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    slot_of_rank_[plan.ranks[i].rank] = static_cast<int>(i);
}

std::uint32_t CommRoutes::collective(const Op& op, std::uint32_t group) {
  std::vector<CollectiveRoute>& known = collective_routes_[group];
  for (const CollectiveRoute& r : known) {
    if (r.kind == op.collective && r.bytes == op.bytes)
      return r.route;
  }
  std::vector<int> devices;
  for (int member : plan_.groups[group].ranks)
    devices.push_back(device_of_rank(member));
  CommRoute route;
  route.collective = true;
  const std::optional<ExpertDispatch>& dispatch = plan_.groups[group].expert_dispatch;
  if (dispatch && op.collective == CollectiveKind::all_to_all) {
    // Every member sends straight to others, as a direct all-to-all does (counted as one).
    route.algorithm = CollectiveAlgorithm::direct;
    route.phases = expand_expert_dispatch(*dispatch, devices, op.bytes, topology_);
  } else {
    route.algorithm =
        forced_algorithm_ &&
                algorithm_applies(op.collective, *forced_algorithm_, devices, topology_)
            ? *forced_algorithm_
            : choose_algorithm(op.collective, devices, op.bytes, topology_, step_latency_s_);
    route.phases = expand_collective(op.collective, route.algorithm, devices, op.bytes, topology_);
  }
  const int spanned = replicas_spanned(group);
  for (Phase& phase : route.phases)
    add_replica_copies(phase, spanned);
  std::tie(route.fitted, route.fit_basis) = fit(measured_op(op.collective), devices, op.bytes);
  route.alpha_beta = route.fitted.has_value();
  const auto id = static_cast<std::uint32_t>(routes_.size());
  routes_.push_back(std::move(route));
  known.push_back({op.collective, op.bytes, id});
  return id;
}

std::uint32_t CommRoutes::message(int src_device, int dst_device, double bytes) {
  std::vector<MessageRoute>& from = message_routes_[src_device];
  for (const MessageRoute& known : from) {
    if (known.dst_device == dst_device && known.bytes == bytes)
      return known.route;
  }
  CommRoute route;
  route.phases = {message_phase(src_device, dst_device, bytes)};
  std::tie(route.fitted, route.fit_basis) =
      fit(CollectiveOp::send_recv, {src_device, dst_device}, bytes);
  route.alpha_beta = messages_alpha_beta_ || route.fitted.has_value();
  const auto id = static_cast<std::uint32_t>(routes_.size());
  routes_.push_back(std::move(route));
  from.push_back({dst_device, bytes, id});
  return id;
}

std::vector<std::uint32_t> CommRoutes::collectives_in_key_order() const {
  std::vector<std::uint32_t> ids;
  for (std::vector<CollectiveRoute> known : collective_routes_) {
    std::sort(known.begin(), known.end(), [](const CollectiveRoute& a, const CollectiveRoute& b) {
      return std::tie(a.kind, a.bytes) < std::tie(b.kind, b.bytes);
    });
    for (const CollectiveRoute& r : known)
      ids.push_back(r.route);
  }
  return ids;
}

Phase CommRoutes::message_phase(int src_device, int dst_device, double bytes) const {
  Phase phase;
  phase.transfers.push_back({src_device, dst_device, bytes});
  add_replica_copies(phase, 1);
  return phase;
}

bool CommRoutes::message_fitted(int src_device, int dst_device, double bytes) const {
  return calibration_ && calibration_
                             ->time(CollectiveOp::send_recv,
                                    group_shape({src_device, dst_device}, topology_), bytes)
                             .time.has_value();
}

std::pair<std::optional<FittedCollectiveTime>, int> CommRoutes::fit(CollectiveOp op,
                                                                    const std::vector<int>& devices,
                                                                    double bytes) {
  // A group of one moves nothing: no fit times it.
  if (!calibration_ || devices.size() < 2)
    return {std::nullopt, -1};
  const CollectiveGroupShape shape = group_shape(devices, topology_);
  CollectiveFitOutcome outcome = calibration_->time(op, shape, bytes);
  std::string basis = std::string(to_string(op)) + " on " + group_text(shape.ranks, shape.nodes) +
                      ": " + (outcome.time ? "" : "network model, ") + outcome.basis;
  auto known = std::find(fit_bases_.begin(), fit_bases_.end(), basis);
  if (known == fit_bases_.end())
    known = fit_bases_.insert(known, std::move(basis));
  return {outcome.time, static_cast<int>(known - fit_bases_.begin())};
}

int CommRoutes::device_of_rank(int rank) const {
  const int listed = plan_.replicas.listed_rank_of(rank);
  return plan_.ranks[slot_of_rank_[listed]].device + (rank - listed);
}

int CommRoutes::first_listed_member(std::uint32_t group) const {
  for (int member : plan_.groups[group].ranks) {
    if (slot_of_rank_[member] >= 0)
      return member;
  }
  return -1;
}

// Replicas 0..w-1 a group spans (validate_plan checks that they are a prefix).
int CommRoutes::replicas_spanned(std::uint32_t group) const {
  int spanned = 1;
  for (int member : plan_.groups[group].ranks)
    spanned = std::max(spanned, plan_.replicas.replica_of(member) + 1);
  return spanned;
}

// The same transfers in the replicas the listed ones stand for, wherever they could share a
// link with other traffic: between nodes, and inside a node unless every device has its own
// port into an NVSwitch or NVLink fabric.
void CommRoutes::add_replica_copies(Phase& phase, int spanned) const {
  const Replicas& replicas = plan_.replicas;
  if (replicas.count <= spanned)
    return;
  const auto private_ports = [&](int node) {
    const auto fabric = topology_.node_fabric_of(node);
    return fabric && (*fabric == NodeFabric::nvswitch || *fabric == NodeFabric::nvlink_mesh);
  };
  const std::size_t listed = phase.transfers.size();
  for (int copy = spanned; copy < replicas.count; copy += spanned) {
    const int offset = copy * replicas.rank_stride;
    for (std::size_t i = 0; i < listed; ++i) {
      const Transfer tr = phase.transfers[i];
      const int node = topology_.node_of(tr.src_device);
      if (node == topology_.node_of(tr.dst_device) && private_ports(node))
        continue;
      phase.transfers.push_back({tr.src_device + offset, tr.dst_device + offset, tr.bytes});
    }
  }
}

std::map<std::string, std::uint64_t> CommRoutes::launched_by_algorithm() const {
  std::map<std::string, std::uint64_t> counts;
  for (const CommRoute& route : routes_) {
    if (route.collective && route.launched > 0)
      counts[std::string(to_string(route.algorithm))] += route.launched;
  }
  return counts;
}

std::map<std::string, std::uint64_t> CommRoutes::launched_by_fit() const {
  std::map<std::string, std::uint64_t> counts;
  for (const CommRoute& route : routes_) {
    if (route.fit_basis >= 0 && route.launched > 0)
      counts[fit_bases_[static_cast<std::size_t>(route.fit_basis)]] += route.launched;
  }
  return counts;
}

}  // namespace scaleplan
