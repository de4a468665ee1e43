// How each collective and message of a plan crosses the network: the algorithm and phases of a
// collective on its group, or a message's single transfer, both with the copies of their
// transfers in the replicas the plan's listed ones stand for; and which network model carries
// them. Each distinct route is expanded once, on first use, and numbered densely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/collective/collective.hpp"
#include "sim/collective/collective_calibration.hpp"
#include "sim/plan/plan.hpp"

namespace scaleplan {

struct CommRoute {
  bool collective = false;
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::ring;  // collectives only
  std::vector<Phase> phases;  // with the other replicas' copies of the transfers
  bool alpha_beta = false;    // carried by the fast path rather than as flows
  // Timed by the calibration's fits rather than by the network model (always on the fast path,
  // whose port shares the phases still give).
  std::optional<FittedCollectiveTime> fitted;
  // Index of what timed it in CommRoutes::fit_bases (the fits, or why none applied); -1 without
  // a calibration.
  int fit_basis = -1;
  std::uint64_t launched = 0;
};

class CommRoutes {
 public:
  // All references, and `calibration` when not null, must outlive the routes. With a calibration,
  // collectives and messages whose group shape its fits cover are timed by them
  // (CollectiveCalibration::time; messages by the send/recv fits of two ranks).
  CommRoutes(const Plan& plan, const Topology& topology, double collective_step_latency_s,
             std::optional<CollectiveAlgorithm> forced_algorithm,
             const CollectiveCalibration* calibration = nullptr);

  // The route of a collective op on `group` (the op's, or the group of a rank that shares its
  // program, Plan::group_of), expanded on first use: the forced algorithm where it applies, else
  // choose_algorithm's choice; an all-to-all on a group with an expert dispatch as that
  // dispatcher carries it (expand_expert_dispatch).
  std::uint32_t collective(const Op& op, std::uint32_t group);
  // The route of a message between two devices.
  std::uint32_t message(int src_device, int dst_device, double bytes);

  CommRoute& operator[](std::uint32_t id) { return routes_[id]; }
  const CommRoute& operator[](std::uint32_t id) const { return routes_[id]; }
  std::size_t size() const { return routes_.size(); }
  // The collectives' routes so far, ordered by group, kind and size.
  std::vector<std::uint32_t> collectives_in_key_order() const;

  // Whether messages created from now on take the fast path.
  void set_messages_alpha_beta(bool alpha_beta) { messages_alpha_beta_ = alpha_beta; }
  // A message and its copies in the other replicas (a message stays inside its replica).
  Phase message_phase(int src_device, int dst_device, double bytes) const;
  // Whether the calibration's fits time a message between these devices (it then takes the fast
  // path whatever the network model).
  bool message_fitted(int src_device, int dst_device, double bytes) const;

  // The device a rank runs on: the listed ranks' own, or a copy's in another replica.
  int device_of_rank(int rank) const;
  // The first member of a group that the plan lists.
  int first_listed_member(std::uint32_t group) const;

  // Collectives launched, by algorithm name.
  std::map<std::string, std::uint64_t> launched_by_algorithm() const;
  // With a calibration: collectives and messages launched, by what timed them ("all-reduce on 2
  // ranks / 1 node: fit mpi 2 ranks / 1 node", "all-to-all on 8 ranks / 2 nodes: network model,
  // no all-to-all fit in the profile"). Empty without one.
  std::map<std::string, std::uint64_t> launched_by_fit() const;

 private:
  // A collective's route is the same for every occurrence with the same group, kind and size;
  // a group sees few kinds and sizes, so each group's routes are a short list searched in order.
  struct CollectiveRoute {
    CollectiveKind kind = CollectiveKind::all_reduce;
    double bytes = 0;
    std::uint32_t route = 0;
  };
  // A message route from a known source: a device sends to few peers (its pipeline
  // neighbours) in few sizes, so each source's routes are a short list searched in order.
  struct MessageRoute {
    int dst_device = 0;
    double bytes = 0;
    std::uint32_t route = 0;
  };

  // The calibration's time for `op` on the group of `devices`, and the route's basis index.
  std::pair<std::optional<FittedCollectiveTime>, int> fit(CollectiveOp op,
                                                          const std::vector<int>& devices,
                                                          double bytes);
  int replicas_spanned(std::uint32_t group) const;
  void add_replica_copies(Phase& phase, int spanned) const;

  const Plan& plan_;
  const Topology& topology_;
  double step_latency_s_;
  std::optional<CollectiveAlgorithm> forced_algorithm_;
  std::vector<int> slot_of_rank_;  // index in plan_.ranks, -1 for another replica's rank
  std::vector<CommRoute> routes_;
  std::vector<std::vector<CollectiveRoute>> collective_routes_;  // by group
  std::vector<std::vector<MessageRoute>> message_routes_;        // by source device
  bool messages_alpha_beta_ = false;
  const CollectiveCalibration* calibration_;
  std::vector<std::string> fit_bases_;  // each distinct basis once, in first-use order
};

}  // namespace scaleplan
