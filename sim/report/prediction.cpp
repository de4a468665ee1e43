#include "sim/report/prediction.hpp"

#include <algorithm>
#include <array>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hardware/input/diagnostics.hpp"
#include "sim/report/modelling_notes.hpp"
#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

namespace {

std::string gigabytes_per_s(double bytes_per_s) {
  return fmt::format("{:.1f} GB/s", bytes_per_s / 1e9);
}

std::string measured_group(const CollectiveProfile& c) {
  return std::string(to_string(c.op)) + " " + group_text(c.ranks, c.nodes);
}

constexpr std::array<std::string_view, 11> tier_order = {
    "ICI",        "NVLink",     "PCIe",   "host", "device-NIC", "NIC",
    "leaf-spine", "spine-core", "router", "DCN",  "other"};

// The network's tiers with the links of each, the busiest `per_tier` first; tiers without links
// are left out.
std::vector<LinkTier> tiers_of(const Topology& topology, const std::vector<double>& link_bytes,
                               double step_time_s, int per_tier) {
  std::vector<LinkTier> tiers(tier_order.size());
  std::vector<std::vector<LinkUsage>> usage(tier_order.size());
  for (std::size_t t = 0; t < tier_order.size(); ++t)
    tiers[t].tier = std::string(tier_order[t]);
  for (LinkId id = 0; id < topology.link_count(); ++id) {
    const std::size_t t = static_cast<std::size_t>(
        std::find(tier_order.begin(), tier_order.end(), link_tier(topology, id)) -
        tier_order.begin());
    LinkTier& tier = tiers[t];
    ++tier.links;
    const double bytes = id < link_bytes.size() ? link_bytes[id] : 0.0;
    if (bytes <= 0)
      continue;
    ++tier.used;
    tier.bytes += bytes;
    const Link& link = topology.link(id);
    usage[t].push_back({id, topology.link_name(id), link.bandwidth_bytes_per_s, bytes,
                        bytes / (link.bandwidth_bytes_per_s * step_time_s)});
  }
  std::vector<LinkTier> out;
  for (std::size_t t = 0; t < tiers.size(); ++t) {
    if (tiers[t].links == 0)
      continue;
    // Busiest first; equal utilisations keep link order, so the table never changes between runs.
    std::vector<LinkUsage>& links = usage[t];
    const std::size_t keep =
        std::min(links.size(), static_cast<std::size_t>(std::max(0, per_tier)));
    std::partial_sort(links.begin(), links.begin() + static_cast<std::ptrdiff_t>(keep), links.end(),
                      [](const LinkUsage& a, const LinkUsage& b) {
                        return a.utilization != b.utilization ? a.utilization > b.utilization
                                                              : a.link < b.link;
                      });
    links.resize(keep);
    tiers[t].busiest = std::move(links);
    out.push_back(std::move(tiers[t]));
  }
  return out;
}

}  // namespace

std::string_view link_tier(const Topology& topology, LinkId id) {
  const Link& link = topology.link(id);
  VertexKind a = topology.vertex(link.from).kind, b = topology.vertex(link.to).kind;
  int tier_a = topology.vertex(link.from).tier, tier_b = topology.vertex(link.to).tier;
  if (a > b) {
    std::swap(a, b);
    std::swap(tier_a, tier_b);
  }
  // A link inside a node is named by that node's fabric.
  const Vertex& inner =
      topology.vertex(link.from).node >= 0 ? topology.vertex(link.from) : topology.vertex(link.to);
  const auto fabric =
      inner.node >= 0 ? topology.node_fabric_of(inner.node) : topology.node_fabric();
  using K = VertexKind;
  if (a == K::device && b == K::device) {
    if (!topology.torus_dims().empty())
      return "ICI";
    return fabric == NodeFabric::nvlink_mesh ? "NVLink" : "other";
  }
  if (a == K::device && b == K::node_switch)
    return fabric == NodeFabric::pcie ? "PCIe" : "NVLink";
  if (a == K::device && b == K::nic)
    return "device-NIC";
  if (a == K::nic && b == K::node_switch)
    return "device-NIC";
  if ((a == K::node_switch || a == K::host_bridge) && b == K::host_bridge)
    return "host";
  if (a == K::nic && b == K::network_switch)
    return topology.torus_dims().empty() ? "NIC" : "DCN";
  if (a == K::network_switch && b == K::network_switch) {
    if (std::min(tier_a, tier_b) == 1 && std::max(tier_a, tier_b) == 2)
      return "leaf-spine";
    if (std::min(tier_a, tier_b) == 2 && std::max(tier_a, tier_b) == 3)
      return "spine-core";
    if (tier_a == 0 && tier_b == 0)
      return "router";
  }
  return "other";
}

EffectiveCluster effective_cluster(const ClusterSpec& cluster, const Catalog& catalog,
                                   const Profile* profile, const std::string& profile_name) {
  EffectiveCluster out{cluster, "", cluster.device.collective_step_latency_s.value, std::nullopt,
                       std::nullopt};
  ClusterSpec& effective = out.cluster;
  const std::string of_profile = "calibration profile " + profile_name;
  const auto ring_step = [&](const CollectiveProfile& fit) {
    const double time_s = fit.latency_s.value / (2.0 * (fit.ranks - 1));
    return EffectiveCluster::RingStep{
        time_s, fmt::format("{:.3g} us per ring step of ", 1e6 * time_s) + measured_group(fit) +
                    " alpha, " + of_profile};
  };
  // A PCIe node joins its devices by their host links (Topology::build_node): those are the
  // links inside the node that a measurement replaces and the report names.
  const bool pcie = cluster.node_fabric == NodeFabric::pcie;
  Figure& intra = pcie ? effective.device.host_link_bandwidth_bytes_per_s
                       : effective.device.intra_node_link_bandwidth_bytes_per_s;
  const std::string intra_name = pcie ? "PCIe links " : "intra-node links ";
  const CollectiveProfile* measured =
      profile ? profile->collective(CollectiveOp::all_reduce, cluster.devices_per_node, 1)
              : nullptr;
  if (measured && measured->nodes == 1) {
    intra = measured->bus_bandwidth_bytes_per_s;
    out.description = intra_name + gigabytes_per_s(intra.value) + " (" + measured_group(*measured) +
                      " bus bandwidth, " + of_profile + ")";
    if (cluster.devices_per_node > 1)
      out.intra_node_ring_step = ring_step(*measured);
  } else if (pcie) {
    out.description = intra_name + gigabytes_per_s(intra.value) + " (catalog host link)";
  } else if (const auto& f = cluster.device.intra_node_link_efficiency) {
    intra.value *= f->value;
    out.description = "intra-node links " + gigabytes_per_s(intra.value) + " (catalog " +
                      gigabytes_per_s(cluster.device.intra_node_link_bandwidth_bytes_per_s.value) +
                      fmt::format(" x nccl-tests efficiency {:.3g})", f->value);
  } else {
    out.description = "intra-node links " + gigabytes_per_s(intra.value) + " (catalog)";
  }

  // Other groups' devices: their own catalog links, scaled alike (a profile times one device,
  // and scenarios with mixed devices take none).
  for (NodeGroup& g : effective.node_groups) {
    const bool group_pcie = cluster.shape_of_group(g).fabric == NodeFabric::pcie;
    if (g.device.name == cluster.device.name && group_pcie == pcie) {
      g.device = effective.device;
      continue;
    }
    if (group_pcie) {
      out.description += "; " + g.name + " PCIe links " +
                         gigabytes_per_s(g.device.host_link_bandwidth_bytes_per_s.value) +
                         " (catalog host link)";
      continue;
    }
    Figure& links = g.device.intra_node_link_bandwidth_bytes_per_s;
    const double catalog_bytes_per_s = links.value;
    if (const auto& f = g.device.intra_node_link_efficiency) {
      links.value *= f->value;
      out.description += "; " + g.name + " intra-node links " + gigabytes_per_s(links.value) +
                         " (catalog " + gigabytes_per_s(catalog_bytes_per_s) +
                         fmt::format(" x nccl-tests efficiency {:.3g})", f->value);
    } else {
      out.description +=
          "; " + g.name + " intra-node links " + gigabytes_per_s(links.value) + " (catalog)";
    }
  }

  NetworkSpec& net = effective.network;
  const bool nics =
      cluster.nodes > 1 && net.nics_per_node > 0 && net.topology != NetworkTopologyKind::torus;
  const CollectiveProfile* inter =
      profile && nics ? profile->inter_node_collective(CollectiveOp::all_reduce,
                                                       cluster.device_count(), cluster.nodes)
                      : nullptr;
  if (inter) {
    const int nics_measured = inter->nics_per_node.value_or(net.nics_per_node);
    const int nics_used = std::min(std::max(1, inter->ranks / inter->nodes), nics_measured);
    net.link_bandwidth_bytes_per_s = inter->bus_bandwidth_bytes_per_s.value / nics_used;
    out.description += "; NIC links " + gigabytes_per_s(net.link_bandwidth_bytes_per_s) + " (" +
                       measured_group(*inter) + " bus bandwidth " +
                       gigabytes_per_s(inter->bus_bandwidth_bytes_per_s.value) + " over " +
                       std::to_string(nics_used) + (nics_used == 1 ? " NIC" : " NICs") +
                       " per node, " + of_profile + ")";
    out.inter_node_ring_step = ring_step(*inter);
    if (net.link_bandwidth_bytes_per_s > cluster.network.link_bandwidth_bytes_per_s) {
      // Not clamped: the measurement stands, but it is likely NCCL's tree on few nodes, which
      // moves less over the network than the ring the bus bandwidth convention assumes.
      out.description += ", above the scenario's line rate of " +
                         gigabytes_per_s(cluster.network.link_bandwidth_bytes_per_s);
    }
  } else if (const auto& f = catalog.network_defaults().nic_bandwidth_efficiency) {
    net.link_bandwidth_bytes_per_s *= f->value;
    if (nics) {
      out.description += "; NIC links " + gigabytes_per_s(net.link_bandwidth_bytes_per_s) +
                         " (scenario " +
                         gigabytes_per_s(cluster.network.link_bandwidth_bytes_per_s) +
                         fmt::format(" x catalog NIC efficiency {:.3g})", f->value);
    }
  } else if (nics) {
    out.description +=
        "; NIC links " + gigabytes_per_s(net.link_bandwidth_bytes_per_s) + " (scenario)";
  }
  if (cluster.network.topology == NetworkTopologyKind::torus) {
    // Torus links are the scenario's (or the catalog's per-link share), untouched here.
    const TorusSpec& torus = cluster.network.torus;
    out.description =
        "torus links " + gigabytes_per_s(torus.link_bandwidth_bytes_per_s) + " per direction";
    if (!torus.rank_axes.empty()) {
      out.description += fmt::format(
          "; ranks fill axes [{}] ({})", fmt::join(torus.rank_axes, ", "),
          torus.rank_axes_automatic ? "automatic: tensor-parallel groups on the fewest axes"
                                    : "rank_axes");
    }
    if (torus.slices > 1) {
      out.description += fmt::format("; {} slices joined by DCN at {} per host", torus.slices,
                                     gigabytes_per_s(torus.dcn_bandwidth_per_host_bytes_per_s));
    }
  }
  return out;
}

Topology calibrate_latencies(EffectiveCluster& effective, Topology topology) {
  // What a measured step leaves once the route is paid, and the description of the split.
  const auto split = [](const EffectiveCluster::RingStep& step, double route_s, const char* what,
                        const char* route) {
    return std::pair{std::max(0.0, step.time_s - route_s),
                     " (" + step.source + fmt::format(", less {:.3g} us ", 1e6 * route_s) + what +
                         (step.time_s < route_s ? route : "") + ")"};
  };
  std::string& description = effective.description;
  if (const auto& step = effective.intra_node_ring_step) {
    const auto [latency_s, source] =
        split(*step, topology.route_latency_s(0, 1), "route between devices",
              ", longer than the measured step");
    effective.collective_step_latency_s = latency_s;
    description += fmt::format("; collective step latency {:.3g} us", 1e6 * latency_s) + source;
  } else {
    description += fmt::format("; collective step latency {:.3g} us (catalog)",
                               1e6 * effective.collective_step_latency_s);
  }
  if (const auto& step = effective.inter_node_ring_step) {
    NetworkSpec& net = effective.cluster.network;
    // The route crosses two NICs; the rest of it (switches, cables, PCIe) stays as built.
    const double rest_s =
        topology.route_latency_s(0, topology.node_first_device(1)) - 2 * net.nic_latency_s;
    const auto [both_nics_s, source] =
        split(*step, effective.collective_step_latency_s + rest_s,
              "step latency, switches and cables", ", longer than the measured step");
    net.nic_latency_s = both_nics_s / 2;
    description += fmt::format("; NIC latency {:.3g} us", 1e6 * net.nic_latency_s) + source;
    return Topology(effective.cluster);
  }
  return topology;
}

ClusterNetwork prepare_network(const ClusterSpec& cluster, const Catalog& catalog,
                               const Profile* profile, const std::string& profile_name) {
  EffectiveCluster effective = effective_cluster(cluster, catalog, profile, profile_name);
  Topology topology = calibrate_latencies(effective, Topology(effective.cluster));
  return ClusterNetwork{
      std::move(topology), std::move(effective.description), effective.collective_step_latency_s,
      CollectiveCalibration(profile ? profile->collectives : std::vector<CollectiveProfile>{})};
}

std::unique_ptr<ComputeModel> make_compute_model(const DeviceSpec& device, const Profile* profile,
                                                 const std::string& profile_name) {
  if (profile)
    return std::make_unique<ProfiledComputeModel>(device, *profile, profile_name);
  return std::make_unique<RooflineModel>(device);
}

ClusterNetwork prepare_network(const Scenario& scenario, const Catalog& catalog) {
  try {
    const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
    return prepare_network(scenario.cluster, catalog, profile, scenario.calibration.value_or(""));
  } catch (const TopologyError& e) {
    auto where = scenario.locations.find("cluster.network");
    SourceLocation location =
        where != scenario.locations.end() ? where->second : SourceLocation{scenario.file, 0, 0};
    throw InputError({{location, "cluster.network", e.what()}});
  }
}

RunSettings run_settings(const Scenario& scenario, RunSettings settings) {
  settings.allocator_headroom_fraction = scenario.allocator_headroom_fraction;
  // Ranks that differ break the replicas' symmetry: every rank is simulated.
  if (scenario.cluster.ranks_differ())
    settings.ranks = RankScope::all_ranks;
  return settings;
}

PreparedRun prepare_run(const Scenario& scenario, const Catalog& catalog,
                        const RunSettings& settings) {
  const RunSettings effective = run_settings(scenario, settings);
  return PreparedRun{prepare_network(scenario, catalog), build_plan(scenario.job, effective.ranks),
                     effective};
}

InputError time_overflow_error(const Scenario& scenario, const TimeOverflow& overflow) {
  using Cause = TimeOverflow::Cause;
  std::string key, advice;
  switch (overflow.cause()) {
    case Cause::compute:
      key = "training.micro_batch";
      advice = "lower training.micro_batch or the model's sizes, or use a faster cluster.device";
      break;
    case Cause::communication:
      key = "cluster.network";
      advice = "raise the network's bandwidths or lower the model's sizes";
      break;
    case Cause::step:
      key = "training.global_batch";
      advice = "lower training.global_batch (fewer micro-batches a step) or the model's sizes";
      break;
  }
  const auto where = scenario.locations.find(key);
  const SourceLocation location =
      where != scenario.locations.end() ? where->second : SourceLocation{scenario.file, 0, 0};
  return InputError(
      {{location, key,
        std::string("the step cannot be simulated: ") + overflow.what() + "; " + advice}});
}

Prediction predict(const Scenario& scenario, const PreparedRun& run,
                   const std::vector<SimulationObserver*>& observers) {
  const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
  const std::unique_ptr<ComputeModel> compute =
      make_compute_model(scenario.cluster.device, profile, scenario.calibration.value_or("?"));
  try {
    Prediction p = predict({scenario.cluster, scenario.job, *compute, run.network, run.settings},
                           run.plan, observers);
    p.scenario = scenario.name;
    return p;
  } catch (const TimeOverflow& overflow) {
    throw time_overflow_error(scenario, overflow);
  }
}

Stream StepBreakdown::bound_by() const {
  Stream bound = Stream::compute;
  double longest = compute_s;
  for (std::size_t s = 0; s < exposed_by_stream_s.size(); ++s) {
    if (exposed_by_stream_s[s] > longest) {
      longest = exposed_by_stream_s[s];
      bound = static_cast<Stream>(s);
    }
  }
  return bound;
}

namespace {

// Each pipeline stage's busiest listed rank: the one that computed and communicated longest.
std::vector<StepBreakdown> stage_breakdown(const SimulationResult& sim,
                                           const ParallelismSpec& par) {
  std::vector<StepBreakdown> stages(par.pp);
  std::vector<bool> seen(par.pp, false);
  for (const RankResult& r : sim.ranks) {
    const int stage = coordinates_of(r.rank, par).pp;
    StepBreakdown b;
    b.rank = r.rank;
    b.stage = stage;
    b.compute_s = r.compute_s;
    b.exposed_comm_s = r.exposed_comm_s;
    b.bubble_s = r.idle_s;
    b.exposed_by_stream_s = r.exposed_by_stream_s;
    if (!seen[stage] || b.busy_s() > stages[stage].busy_s()) {
      stages[stage] = b;
      seen[stage] = true;
    }
  }
  return stages;
}

// FLOPs of the GEMM and attention kernels of every compute op the plan runs, over all ranks: the
// listed ones and the replicas they stand for. O(ops).
double hardware_flops_per_step(const Plan& plan) {
  std::vector<double> block_flops(plan.blocks.size(), 0.0);
  for (std::size_t b = 0; b < plan.blocks.size(); ++b) {
    for (const Kernel& k : plan.blocks[b].kernels) {
      if (k.kind == KernelKind::gemm || k.kind == KernelKind::attention)
        block_flops[b] += k.flops;
    }
  }
  double flops = 0;
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    for (const Op& op : plan.ops_of(r)) {
      if (op.kind == OpKind::compute)
        flops += block_flops[op.block];
    }
  }
  return flops * plan.replicas.count;
}

// The cluster's device names: one, or each group's in node order, each once.
std::string device_names(const ClusterSpec& cluster) {
  if (!cluster.mixes_devices())
    return cluster.device.name;
  std::vector<std::string> names;
  for (const NodeGroup& g : cluster.node_groups) {
    if (std::find(names.begin(), names.end(), g.device.name) == names.end())
      names.push_back(g.device.name);
  }
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : " + ") + n;
  return out;
}

// The mean of the devices' peaks in `dtype`: the device's own without node groups.
double mean_peak_flops(const ClusterSpec& cluster, Dtype dtype) {
  if (!cluster.mixes_devices())
    return cluster.device.peak_flops(dtype);
  double sum = 0;
  for (const NodeGroup& g : cluster.node_groups)
    sum += g.device.peak_flops(dtype) * g.nodes * cluster.shape_of_group(g).devices;
  return sum / cluster.device_count();
}

std::string slowdown_text(const DeviceSlowdown& s) {
  std::string out = s.factor != 1 ? fmt::format("x{:.3g}", s.factor) : "";
  if (s.jitter) {
    out += fmt::format("{}jitter {} sigma {:.3g} seed {}", out.empty() ? "" : ", ",
                       to_string(s.jitter->distribution), s.jitter->sigma, s.jitter->seed);
  }
  return out;
}

// Why the ranks were simulated one by one.
std::string why_ranks_differ(const ClusterSpec& cluster) {
  std::vector<std::string> reasons;
  if (cluster.mixes_devices())
    reasons.push_back("node groups of " + device_names(cluster));
  if (cluster.mixes_shapes())
    reasons.push_back("node groups of different node shapes");
  int slowed = 0, jittered = 0;
  for (const DeviceSlowdown& s : cluster.slowdowns) {
    slowed += s.factor != 1 ? 1 : 0;
    jittered += s.jitter ? 1 : 0;
  }
  if (slowed > 0)
    reasons.push_back(fmt::format("{} slowed device{}", slowed, slowed == 1 ? "" : "s"));
  if (jittered > 0)
    reasons.push_back(fmt::format("{} jittered device{}", jittered, jittered == 1 ? "" : "s"));
  return join_all(reasons);
}

// Which rank bounds a step whose ranks differ, and what the others lose waiting for it: the
// rank with the most compute and exposed communication (the first of equals), and over the
// other ranks the step less their own busy time.
StepBound step_bound(const SimulationResult& sim, const Plan& plan, const ClusterSpec& cluster) {
  const auto busy = [&](std::size_t i) {
    return sim.ranks[i].compute_s + sim.ranks[i].exposed_comm_s;
  };
  std::size_t bound = 0;
  for (std::size_t i = 1; i < sim.ranks.size(); ++i) {
    if (busy(i) > busy(bound))
      bound = i;
  }
  StepBound b;
  b.rank = plan.ranks[bound].rank;
  b.device = plan.ranks[bound].device;
  b.device_name = cluster.device_at(b.device).name;
  for (const DeviceSlowdown& s : cluster.slowdowns) {
    if (s.device == b.device)
      b.slowed = slowdown_text(s);
  }
  const int node_of_bound = cluster.node_of_device(b.device);
  if (!cluster.node_groups.empty())
    b.group = cluster.node_groups[cluster.group_of_node(node_of_bound)].name;
  b.busy_s = busy(bound);
  double waited = 0;
  for (std::size_t i = 0; i < sim.ranks.size(); ++i) {
    if (i == bound)
      continue;
    const double wait = sim.step_time_s - busy(i);
    waited += wait;
    b.max_wait_s = std::max(b.max_wait_s, wait);
    ++b.other_ranks;
  }
  b.mean_wait_s = b.other_ranks > 0 ? waited / b.other_ranks : 0.0;
  b.groups.resize(cluster.node_groups.size());
  for (std::size_t g = 0; g < cluster.node_groups.size(); ++g) {
    b.groups[g].group = cluster.node_groups[g].name;
    b.groups[g].device = cluster.node_groups[g].device.name;
    b.groups[g].nodes = cluster.node_groups[g].nodes;
    if (cluster.mixes_shapes())
      b.groups[g].shape = cluster.shape_of_group(cluster.node_groups[g]);
  }
  if (!b.groups.empty()) {
    for (std::size_t i = 0; i < sim.ranks.size(); ++i) {
      NodeGroupTime& g =
          b.groups[cluster.group_of_node(cluster.node_of_device(plan.ranks[i].device))];
      ++g.ranks;
      g.mean_busy_s += busy(i);
    }
    for (NodeGroupTime& g : b.groups) {
      if (g.ranks > 0) {
        g.mean_busy_s /= g.ranks;
        // A group whose every rank is busy the whole step waits for none: the mean of its busy
        // times can round above the step by an ulp, which would print as -0.000 s.
        g.mean_wait_s = std::max(0.0, sim.step_time_s - g.mean_busy_s);
      }
    }
  }
  return b;
}

}  // namespace

namespace {

template <class DeviceOf>
std::vector<MemoryBreakdown> memory_of_ranks(const Plan& plan,
                                             const std::vector<double>& activation_peak_bytes,
                                             DeviceOf device_of,
                                             double allocator_headroom_fraction) {
  bool any_gpu = false;
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    any_gpu = any_gpu || device_of(i).kind == DeviceKind::gpu;
  // NCCL runs on GPUs; TPUs, FPGAs and CPU ranks (MPI on host memory) communicate without its
  // buffers.
  const std::vector<double> nccl =
      any_gpu ? nccl_buffer_bytes(plan) : std::vector<double>(plan.ranks.size(), 0.0);
  std::vector<MemoryBreakdown> out;
  out.reserve(plan.ranks.size());
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const DeviceSpec& device = device_of(i);
    const StaticMemory& st = plan.ranks[i].static_memory;
    MemoryBreakdown m;
    m.rank = plan.ranks[i].rank;
    m.weights_bytes = st.weights_bytes;
    m.gradients_bytes = st.gradients_bytes;
    m.optimizer_bytes = st.optimizer_bytes;
    m.communication_buffer_bytes = st.communication_buffer_bytes;
    m.activations_bytes = activation_peak_bytes[i];
    m.nccl_buffer_bytes = device.kind == DeviceKind::gpu ? nccl[i] : 0.0;
    // Everything but NCCL's buffers comes from the framework's caching allocator.
    const double allocated = st.total() + m.activations_bytes;
    m.allocator_headroom_bytes = allocator_headroom_bytes(
        allocated, allocator_headroom_fraction_on(device.kind, allocator_headroom_fraction));
    m.peak_bytes = allocated + m.nccl_buffer_bytes + m.allocator_headroom_bytes;
    m.capacity_bytes = device.memory_bytes.value;
    m.fits = m.peak_bytes <= m.capacity_bytes;
    out.push_back(m);
  }
  return out;
}

}  // namespace

std::vector<MemoryBreakdown> memory_by_rank(const Plan& plan,
                                            const std::vector<double>& activation_peak_bytes,
                                            const DeviceSpec& device,
                                            double allocator_headroom_fraction) {
  return memory_of_ranks(
      plan, activation_peak_bytes, [&](std::size_t) -> const DeviceSpec& { return device; },
      allocator_headroom_fraction);
}

std::vector<MemoryBreakdown> memory_by_rank(const Plan& plan,
                                            const std::vector<double>& activation_peak_bytes,
                                            const ClusterSpec& cluster,
                                            double allocator_headroom_fraction) {
  return memory_of_ranks(
      plan, activation_peak_bytes,
      [&](std::size_t i) -> const DeviceSpec& { return cluster.device_at(plan.ranks[i].device); },
      allocator_headroom_fraction);
}

Prediction predict(const PredictionInputs& inputs) {
  // Ranks that differ (mixed devices, slowed devices) break the replicas' symmetry: every rank
  // is simulated.
  return predict(inputs,
                 build_plan(inputs.job, inputs.cluster.ranks_differ() ? RankScope::all_ranks
                                                                      : inputs.settings.ranks));
}

Prediction predict(const PredictionInputs& inputs, const Plan& given_plan,
                   const std::vector<SimulationObserver*>& observers) {
  const ClusterSpec& cluster = inputs.cluster;
  const bool ranks_differ = cluster.ranks_differ();
  // A replica standing for others that are not like it would hide the slow ones.
  std::optional<Plan> every_rank;
  if (ranks_differ && given_plan.replicas.count > 1)
    every_rank = build_plan(inputs.job, RankScope::all_ranks);
  const Plan& plan = every_rank ? *every_rank : given_plan;
  const DeviceSpec& device = cluster.device;
  const ClusterNetwork& network = inputs.network;
  SimulationOptions options;
  options.collective_step_latency_s = network.collective_step_latency_s;
  options.collective_calibration = &network.collective_calibration;
  options.network_model = inputs.settings.network_model;
  const auto devices = static_cast<std::size_t>(cluster.device_count());
  const auto& slowdowns = cluster.slowdowns;
  if (!slowdowns.empty()) {
    options.compute_factor_by_device.assign(devices, 1.0);
    for (const DeviceSlowdown& s : slowdowns) {
      options.compute_factor_by_device[static_cast<std::size_t>(s.device)] = s.factor;
      if (s.jitter) {
        options.jitter_by_device.resize(devices);
        options.jitter_by_device[static_cast<std::size_t>(s.device)] = s.jitter;
      }
    }
  }
  // The other groups' devices, each timed by its catalog roofline.
  std::vector<std::unique_ptr<ComputeModel>> group_models;
  if (cluster.mixes_devices()) {
    options.compute_by_device.assign(devices, nullptr);
    std::vector<std::string> names;
    int node = 0;
    for (const NodeGroup& g : cluster.node_groups) {
      const ComputeModel* model = &inputs.compute;
      if (g.device.name != device.name) {
        const auto known = std::find(names.begin(), names.end(), g.device.name);
        if (known == names.end()) {
          names.push_back(g.device.name);
          group_models.push_back(std::make_unique<RooflineModel>(g.device));
          model = group_models.back().get();
        } else {
          model = group_models[static_cast<std::size_t>(known - names.begin())].get();
        }
      }
      for (int d = cluster.first_device_of_node(node);
           d < cluster.first_device_of_node(node + g.nodes); ++d)
        options.compute_by_device[static_cast<std::size_t>(d)] = model;
      node += g.nodes;
    }
  }
  // Communication kernels (NCCL's, DeepEP's, Transformer Engine's userbuffers) take SMs from the
  // compute beside them (RankScheduler).
  options.sm_count_by_device.assign(devices, 0.0);
  options.collective_kernel_sms_by_device.assign(devices, 0.0);
  for (std::size_t d = 0; d < devices; ++d) {
    if (const auto& tiling = cluster.device_at(static_cast<int>(d)).gemm_tiling) {
      options.sm_count_by_device[d] = tiling->sm_count.value;
      options.collective_kernel_sms_by_device[d] =
          tiling->collective_kernel_sms ? tiling->collective_kernel_sms->value : 0.0;
    }
  }
  options.tensor_parallel_userbuffers = tp_comm_overlap_on(inputs.job);
  const SimulationResult sim = simulate(plan, network.topology, inputs.compute, options, observers);

  // The job as the plan was built from it: its vocabulary padded where tp does not divide it.
  TrainingJob job = inputs.job;
  pad_vocabulary(job);
  Prediction p;
  p.device = device_names(cluster);
  p.devices = cluster.device_count();
  p.parallelism = job.parallelism;
  p.microbatches = microbatches_per_replica(job);
  p.step_time_s = sim.step_time_s;
  const double tokens = static_cast<double>(job.training.global_batch * job.model.seq_len);
  p.tokens_per_s = tokens / sim.step_time_s;
  if (job.graph && !is_decoder_graph(*job.graph)) {
    // Not a language model: a sample (an image, a query) counts as a token; model FLOPs are three
    // forwards (forward, and backward's input and weight gradients) of the GEMM, convolution and
    // attention kernels.
    p.model_parameters = p.model_active_parameters = graph_total_parameters(*job.graph);
    p.model_flops_per_step = 3.0 * graph_forward_flops_per_sample(*job.graph) * tokens;
  } else {
    p.model_parameters = total_parameters(job.model);
    p.model_active_parameters = active_parameters(job.model);
    if (job.model.mtp_layers > 0) {
      TransformerConfig main_model = job.model;
      main_model.mtp_layers = 0;
      p.mtp_modules = job.model.mtp_layers;
      p.mtp_parameters = p.model_parameters - total_parameters(main_model);
    }
    p.model_flops_per_step = training_flops_per_token(job.model) * tokens;
  }
  p.model_tflops_per_device = p.model_flops_per_step / sim.step_time_s / p.devices / 1e12;
  // With node groups, over the mean of the devices' peaks.
  const double peak_flops_per_s = mean_peak_flops(cluster, job.training.dtype);
  p.mfu = p.model_tflops_per_device * 1e12 / peak_flops_per_s;
  // Fused attention runs at a figure of its own, which the line names beside the GEMMs'.
  const bool fused_attention =
      (!job.graph || is_decoder_graph(*job.graph)) && job.model.flash_attention;
  const auto with_attention = [&](const ComputeModel& model) {
    std::string text = model.description(job.training.dtype);
    if (fused_attention) {
      if (std::string a = model.attention_description(job.framework.attention_library,
                                                      non_gemm_dtype(job.training.dtype));
          !a.empty())
        text += "; " + a;
    }
    return text;
  };
  p.compute_model = with_attention(inputs.compute);
  for (const NodeGroup& g : cluster.node_groups) {
    if (g.device.name != device.name)
      p.compute_model += "; group " + g.name + ": " + with_attention(RooflineModel(g.device));
  }
  p.link_bandwidths = network.link_bandwidths;
  p.events = sim.events;
  p.flows = sim.flows;
  p.replicas_simulated_as_one = plan.replicas.count;
  p.network_model = options.network_model;
  p.flow_transactions = sim.flow_transactions;
  p.alpha_beta_transactions = sim.alpha_beta_transactions;
  p.flows_if_all_flows = sim.flows_if_all_flows;
  p.routed_sources_if_all_flows = sim.routed_sources_if_all_flows;
  p.route_classes_if_all_flows = sim.route_classes_if_all_flows;
  p.flow_budget = options.flow_budget;
  p.route_search_budget = options.route_search_budget;
  p.flow_source_budget = options.flow_source_budget;
  p.network_size = network.topology.vertex_count() + network.topology.link_count();
  p.collectives_by_algorithm = sim.collectives_by_algorithm;
  p.communication_by_fit = sim.communication_by_fit;
  std::vector<LinkUsage> links;
  for (LinkId id = 0; id < sim.link_bytes.size(); ++id) {
    if (sim.link_bytes[id] <= 0)
      continue;
    const Link& link = network.topology.link(id);
    links.push_back({id, network.topology.link_name(id), link.bandwidth_bytes_per_s,
                     sim.link_bytes[id],
                     sim.link_bytes[id] / (link.bandwidth_bytes_per_s * sim.step_time_s)});
  }
  // Busiest first; equal utilisations keep link order, so the table never changes between runs.
  std::stable_sort(links.begin(), links.end(), [](const LinkUsage& a, const LinkUsage& b) {
    return a.utilization > b.utilization;
  });
  if (links.size() > 10)
    links.resize(10);
  p.busiest_links = std::move(links);
  p.link_tiers = tiers_of(network.topology, sim.link_bytes, sim.step_time_s,
                          inputs.settings.busiest_links_per_tier);

  const int listed = static_cast<int>(sim.ranks.size());
  p.stage_memory.resize(job.parallelism.pp);
  const double headroom_fraction = inputs.settings.allocator_headroom_fraction;
  p.allocator_headroom_fraction = allocator_headroom_fraction_on(device.kind, headroom_fraction);
  std::vector<double> activation_peaks;
  for (const RankResult& r : sim.ranks)
    activation_peaks.push_back(r.peak_activation_bytes);
  const std::vector<MemoryBreakdown> memory =
      cluster.mixes_devices() ? memory_by_rank(plan, activation_peaks, cluster, headroom_fraction)
                              : memory_by_rank(plan, activation_peaks, device, headroom_fraction);
  // The rank of highest peak; with devices of different capacities, the rank closest to its
  // capacity (or furthest past it).
  const auto fuller = [&](const MemoryBreakdown& a, const MemoryBreakdown& b) {
    return cluster.mixes_devices()
               ? a.peak_bytes / a.capacity_bytes > b.peak_bytes / b.capacity_bytes
               : a.peak_bytes > b.peak_bytes;
  };
  for (int i = 0; i < listed; ++i) {
    const MemoryBreakdown& m = memory[i];
    const int stage = coordinates_of(m.rank, job.parallelism).pp;
    if (i == 0 || fuller(m, p.memory))
      p.memory = m;
    if (fuller(m, p.stage_memory[stage]) || p.stage_memory[stage].peak_bytes == 0) {
      p.stage_memory[stage] = m;
    }
  }
  p.stage_breakdown = stage_breakdown(sim, job.parallelism);
  for (const StepBreakdown& stage : p.stage_breakdown) {
    // The first of the busiest: ties keep the earlier stage, so the report never changes.
    if (stage.stage == 0 || stage.busy_s() > p.breakdown.busy_s())
      p.breakdown = stage;
  }
  p.hardware_flops_per_step = hardware_flops_per_step(plan);
  p.hfu = p.hardware_flops_per_step / sim.step_time_s / p.devices / peak_flops_per_s;
  p.notes = modelling_notes(job);
  if (job.unpadded_vocab)
    p.vocab_padding = Prediction::VocabPadding{*job.unpadded_vocab, job.model.vocab};
  if (ranks_differ) {
    p.ranks_differ = why_ranks_differ(cluster);
    p.step_bound = step_bound(sim, plan, cluster);
  }
  return p;
}

}  // namespace scaleplan
