// Before a run: which collectives and messages take the alpha-beta fast path.
#pragma once

#include <cstdint>

#include "sim/simulate/comm_routes.hpp"
#include "sim/simulate/simulation_options.hpp"

namespace scaleplan {

// What the step would ask of the flow model with every collective and message as flows.
struct FlowDemand {
  std::uint64_t flows = 0;
  std::uint64_t routed_sources = 0;  // devices the flows start from, each routed once
  // The route classes of those devices: each class's hop table is searched once
  // (Topology::route_class, route_class_search_work).
  std::uint64_t route_classes = 0;
};

// Expands every collective of the plan into `routes` and marks those that take the fast path:
// none under NetworkModel::flows, all under alpha_beta; under automatic, while the step would
// start more flows than options.flow_budget or search more routes than
// options.route_search_budget (route classes routed from × Topology::route_class_search_work), or
// spread wider than options.flow_source_budget (devices routed from × vertices and links), the
// collectives of one (group, kind, size), or all the messages as one, that would start the most
// flows (ties in key order, the messages last). Under flows, a step beyond options.flow_limit or
// options.route_search_limit throws NetworkModelError. Collectives and messages that a calibration
// times (CommRoutes, CommRoute::fitted) take the fast path under every model and are not counted:
// they would start no flows.
FlowDemand choose_network_models(const Plan& plan, const Topology& topology,
                                 const SimulationOptions& options, CommRoutes& routes);

}  // namespace scaleplan
