#include "sim/report/prediction.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"
#include "version/version.hpp"

#include <nlohmann/json.hpp>

namespace scaleplan {

namespace {

std::string gigabytes_per_s(double bytes_per_s) {
  return fmt::format("{:.1f} GB/s", bytes_per_s / 1e9);
}

std::string measured_group(const CollectiveProfile& c) {
  return std::string(to_string(c.op)) + " " + group_text(c.ranks, c.nodes);
}

}  // namespace

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
  Figure& intra = effective.device.intra_node_link_bandwidth_bytes_per_s;
  const CollectiveProfile* measured =
      profile ? profile->collective(CollectiveOp::all_reduce, cluster.devices_per_node, 1)
              : nullptr;
  if (measured && measured->nodes == 1) {
    intra = measured->bus_bandwidth_bytes_per_s;
    out.description = "intra-node links " + gigabytes_per_s(intra.value) + " (" +
                      measured_group(*measured) + " bus bandwidth, " + of_profile + ")";
    if (cluster.devices_per_node > 1)
      out.intra_node_ring_step = ring_step(*measured);
  } else if (const auto& f = cluster.device.intra_node_link_efficiency) {
    intra.value *= f->value;
    out.description = "intra-node links " + gigabytes_per_s(intra.value) + " (catalog " +
                      gigabytes_per_s(cluster.device.intra_node_link_bandwidth_bytes_per_s.value) +
                      fmt::format(" x nccl-tests efficiency {:.3g})", f->value);
  } else {
    out.description = "intra-node links " + gigabytes_per_s(intra.value) + " (catalog)";
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
    out.description = "torus links " +
                      gigabytes_per_s(cluster.network.torus.link_bandwidth_bytes_per_s) +
                      " per direction";
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
        topology.route_latency_s(0, effective.cluster.devices_per_node) - 2 * net.nic_latency_s;
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
  return ClusterNetwork{std::move(topology), std::move(effective.description),
                        effective.collective_step_latency_s};
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
  return settings;
}

PreparedRun prepare_run(const Scenario& scenario, const Catalog& catalog,
                        const RunSettings& settings) {
  return PreparedRun{prepare_network(scenario, catalog), build_plan(scenario.job, settings.ranks),
                     run_settings(scenario, settings)};
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
  for (const RankProgram& rank : plan.ranks) {
    for (const Op& op : rank.ops) {
      if (op.kind == OpKind::compute)
        flops += block_flops[op.block];
    }
  }
  return flops * plan.replicas.count;
}

// What the report says of the modelling choices a reader might not expect.
std::vector<std::string> modelling_notes(const TrainingJob& job) {
  std::vector<std::string> notes;
  const auto& par = job.parallelism;
  if (par.recompute == Recompute::selective && job.model.flash_attention) {
    notes.push_back(
        "recompute: selective changes nothing with flash attention: selective recompute drops the "
        "attention core's score matrix and recomputes it (Korthikanti et al. 2022), and the fused "
        "kernel never stores it and recomputes it in its backward already");
  }
  if (const auto& f = job.framework; f.framework || f.overlap_param_gather ||
                                     f.zero3_prefetch_parameters || f.pipeline_scatter_gather ||
                                     f.grad_reduce_dtype != GradReduceDtype::fp32) {
    std::string text = "framework " + (f.framework ? std::string(to_string(*f.framework)) : "-") +
                       ": gradient reduction " +
                       (par.overlap_grad_reduce ? "overlapping backward" : "after backward") +
                       " in " +
                       std::string(to_string(f.grad_reduce_dtype == GradReduceDtype::fp32
                                                 ? Dtype::fp32
                                                 : non_gemm_dtype(job.training.dtype)));
    if (par.zero == 1 || par.zero == 2) {
      text += f.overlap_param_gather ? ", weight all-gather overlapping the next forward"
                                     : ", weight all-gather after the optimizer step";
    }
    if (par.zero >= 3) {
      text += f.zero3_prefetch_parameters ? fmt::format(", ZeRO-3 prefetching {:g} parameters",
                                                        *f.zero3_prefetch_parameters)
                                          : ", ZeRO-3 prefetching the next layer";
    }
    if (f.pipeline_scatter_gather && par.pp > 1 && par.tp > 1 && !par.sequence_parallel)
      text += ", pipeline messages scattered over tp and all-gathered";
    notes.push_back(text);
  }
  if (job.training.dtype == Dtype::fp8) {
    notes.push_back(
        "fp8: the linear layers' GEMMs run in fp8; attention, norms, elementwise kernels, the "
        "output layer and the tensor-, context- and pipeline-parallel traffic in bf16 "
        "(Transformer Engine)");
  }
  return notes;
}

}  // namespace

std::vector<MemoryBreakdown> memory_by_rank(const Plan& plan,
                                            const std::vector<double>& activation_peak_bytes,
                                            const DeviceSpec& device,
                                            double allocator_headroom_fraction) {
  // NCCL runs on GPUs; TPUs, FPGAs and CPU ranks (MPI on host memory) communicate without its
  // buffers.
  const std::vector<double> nccl = device.kind == DeviceKind::gpu
                                       ? nccl_buffer_bytes(plan)
                                       : std::vector<double>(plan.ranks.size(), 0.0);
  std::vector<MemoryBreakdown> out;
  out.reserve(plan.ranks.size());
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const StaticMemory& st = plan.ranks[i].static_memory;
    MemoryBreakdown m;
    m.rank = plan.ranks[i].rank;
    m.weights_bytes = st.weights_bytes;
    m.gradients_bytes = st.gradients_bytes;
    m.optimizer_bytes = st.optimizer_bytes;
    m.communication_buffer_bytes = st.communication_buffer_bytes;
    m.activations_bytes = activation_peak_bytes[i];
    m.nccl_buffer_bytes = nccl[i];
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

Prediction predict(const PredictionInputs& inputs) {
  return predict(inputs, build_plan(inputs.job, inputs.settings.ranks));
}

Prediction predict(const PredictionInputs& inputs, const Plan& plan,
                   const std::vector<SimulationObserver*>& observers) {
  const DeviceSpec& device = inputs.cluster.device;
  const ClusterNetwork& network = inputs.network;
  SimulationOptions options;
  options.collective_step_latency_s = network.collective_step_latency_s;
  options.network_model = inputs.settings.network_model;
  const SimulationResult sim = simulate(plan, network.topology, inputs.compute, options, observers);

  const TrainingJob& job = inputs.job;
  Prediction p;
  p.device = device.name;
  p.devices = inputs.cluster.device_count();
  p.parallelism = job.parallelism;
  p.microbatches = microbatches_per_replica(job);
  p.step_time_s = sim.step_time_s;
  const double tokens = static_cast<double>(job.training.global_batch * job.model.seq_len);
  p.tokens_per_s = tokens / sim.step_time_s;
  p.model_parameters = total_parameters(job.model);
  p.model_active_parameters = active_parameters(job.model);
  p.model_flops_per_step = training_flops_per_token(job.model) * tokens;
  p.model_tflops_per_device = p.model_flops_per_step / sim.step_time_s / p.devices / 1e12;
  p.mfu = p.model_tflops_per_device * 1e12 / device.peak_flops(job.training.dtype);
  p.compute_model = inputs.compute.description(job.training.dtype);
  p.link_bandwidths = network.link_bandwidths;
  p.events = sim.events;
  p.flows = sim.flows;
  p.replicas_simulated_as_one = plan.replicas.count;
  p.network_model = options.network_model;
  p.flow_transactions = sim.flow_transactions;
  p.alpha_beta_transactions = sim.alpha_beta_transactions;
  p.flows_if_all_flows = sim.flows_if_all_flows;
  p.routed_sources_if_all_flows = sim.routed_sources_if_all_flows;
  p.flow_budget = options.flow_budget;
  p.route_search_budget = options.route_search_budget;
  p.network_size = network.topology.vertex_count() + network.topology.link_count();
  p.collectives_by_algorithm = sim.collectives_by_algorithm;
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

  const int listed = static_cast<int>(sim.ranks.size());
  p.stage_memory.resize(job.parallelism.pp);
  const double headroom_fraction = inputs.settings.allocator_headroom_fraction;
  p.allocator_headroom_fraction = allocator_headroom_fraction_on(device.kind, headroom_fraction);
  std::vector<double> activation_peaks;
  for (const RankResult& r : sim.ranks)
    activation_peaks.push_back(r.peak_activation_bytes);
  const std::vector<MemoryBreakdown> memory =
      memory_by_rank(plan, activation_peaks, device, headroom_fraction);
  for (int i = 0; i < listed; ++i) {
    const MemoryBreakdown& m = memory[i];
    const int stage = coordinates_of(m.rank, job.parallelism).pp;
    if (i == 0 || m.peak_bytes > p.memory.peak_bytes)
      p.memory = m;
    if (m.peak_bytes > p.stage_memory[stage].peak_bytes || p.stage_memory[stage].peak_bytes == 0) {
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
  p.hfu = p.hardware_flops_per_step / sim.step_time_s / p.devices /
          device.peak_flops(job.training.dtype);
  p.notes = modelling_notes(job);
  return p;
}

namespace {

std::string gib(double bytes) {
  return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024 * 1024));
}

// "174.6 B", "1.01 T": a parameter count as people quote it.
std::string parameter_count(double parameters) {
  if (parameters >= 1e12)
    return fmt::format("{:.2f} T", parameters / 1e12);
  if (parameters >= 1e9)
    return fmt::format("{:.1f} B", parameters / 1e9);
  return fmt::format("{:.1f} M", parameters / 1e6);
}

std::string share(double part, double whole) {
  return whole > 0 ? fmt::format("{:.1f} %", 100 * part / whole) : "-";
}

// How the step was simulated: which ranks, and how the network carried their traffic.
std::string simulation_text(const Prediction& p) {
  // With expert parallelism a replica is a block of ep data-parallel replicas (an ep group).
  const std::string replica =
      p.parallelism.ep > 1
          ? "block of " + std::to_string(p.parallelism.ep) + " data-parallel replicas (an ep group)"
          : "data-parallel replica";
  std::string out = p.replicas_simulated_as_one > 1
                        ? "one " + replica + " standing for " +
                              std::to_string(p.replicas_simulated_as_one) +
                              " (--all-ranks simulates each)"
                        : "every rank";
  out += "; " + std::to_string(p.flow_transactions) + " collectives and messages as flows";
  if (p.alpha_beta_transactions > 0) {
    out += ", " + std::to_string(p.alpha_beta_transactions) + " on the alpha-beta fast path";
    if (p.network_model == NetworkModel::automatic) {
      const double budget_sources = p.route_search_budget / static_cast<double>(p.network_size);
      out += " (as flows the step would start " + std::to_string(p.flows_if_all_flows) +
             " flows from " + std::to_string(p.routed_sources_if_all_flows) +
             " devices; the budget is " + std::to_string(p.flow_budget) + " flows from " +
             fmt::format("{:.0f}", budget_sources) + " devices on this network)";
    }
  }
  return out;
}

std::string seconds_and_share(double s, double step_s) {
  return fmt::format("{:.3f} s", s) + "  " + share(s, step_s);
}

// The name of what bound a stage: compute, or a communication stream by what it carries.
std::string resource_text(Stream stream) {
  switch (stream) {
    case Stream::compute:
      return "compute";
    case Stream::tp_comm:
      return "tensor-parallel communication";
    case Stream::cp_comm:
      return "context-parallel communication";
    case Stream::ep_comm:
      return "expert-parallel all-to-alls";
    case Stream::dp_comm:
      return "data-parallel gradient reduction and weight gathers";
    case Stream::pp_send_next:
    case Stream::pp_recv_prev:
    case Stream::pp_send_prev:
    case Stream::pp_recv_next:
      return "pipeline messages";
    case Stream::param_gather:
      return "ZeRO-3 weight gathers";
  }
  return "?";
}

// The split of the stage that bound the step, what bound it, and with several stages every
// stage's split.
std::string step_split_text(const Prediction& p) {
  const auto& b = p.breakdown;
  std::string out =
      "step split (" +
      (p.stage_breakdown.size() > 1 ? "stage " + std::to_string(b.stage) + ", the busiest, "
                                    : std::string()) +
      "rank " + std::to_string(b.rank) + ")\n";
  out += "  compute                  " + seconds_and_share(b.compute_s, p.step_time_s) + "\n";
  out += "  exposed communication    " + seconds_and_share(b.exposed_comm_s, p.step_time_s) + "\n";
  out += "  pipeline bubble / idle   " + seconds_and_share(b.bubble_s, p.step_time_s) + "\n";
  // Streams exposed for at least a millisecond, as the lines round.
  for (std::size_t s = 0; s < b.exposed_by_stream_s.size(); ++s) {
    if (b.exposed_by_stream_s[s] >= 0.0005) {
      out += fmt::format("    exposed {:<18}{:.3f} s\n", to_string(static_cast<Stream>(s)),
                         b.exposed_by_stream_s[s]);
    }
  }
  const Stream bound = b.bound_by();
  out +=
      "  bound by                 " +
      (p.stage_breakdown.size() > 1 ? "stage " + std::to_string(b.stage) + ", " : std::string()) +
      resource_text(bound) + " (" +
      fmt::format("{:.3f} s", bound == Stream::compute
                                  ? b.compute_s
                                  : b.exposed_by_stream_s[static_cast<std::size_t>(bound)]) +
      (bound == Stream::compute ? "" : " exposed") + ")\n";
  if (p.stage_breakdown.size() > 1) {
    out += "  by stage                 compute   exposed   bubble    bound by\n";
    for (const StepBreakdown& stage : p.stage_breakdown) {
      out += fmt::format("    stage {:<4} rank {:<6} {:8.3f}  {:8.3f}  {:8.3f}  {}\n", stage.stage,
                         stage.rank, stage.compute_s, stage.exposed_comm_s, stage.bubble_s,
                         resource_text(stage.bound_by()));
    }
  }
  return out + "\n";
}

// What would make a plan that does not fit fit.
std::string changes_text(const std::vector<MemoryFitChange>& changes) {
  if (changes.empty()) {
    return "\nno change tried fits (ZeRO stage, sequence parallelism, recompute, micro-batch, tp "
           "or pp, one or two at a time)\n";
  }
  std::string out = "\nchanges that fit, fastest first (each simulated)\n";
  for (const MemoryFitChange& c : changes) {
    out += fmt::format("  {:<52} peak {}, step {:.3f} s\n", c.change, gib(c.memory.peak_bytes),
                       c.step_time_s);
  }
  return out;
}

}  // namespace

std::string format_text(const Prediction& p, bool with_links) {
  const auto& par = p.parallelism;
  std::string out;
  out += "scenario   " + p.scenario + "\n";
  out += "cluster    " + std::to_string(p.devices) + " x " + p.device + "\n";
  out += "model      " + parameter_count(p.model_parameters) + " parameters";
  if (p.model_active_parameters < p.model_parameters)
    out += ", " + parameter_count(p.model_active_parameters) + " active per token";
  out += "\n";
  // A pipeline schedule only means something with more than one stage.
  const std::string schedule =
      par.pp > 1
          ? std::string(to_string(par.schedule)) +
                (par.virtual_stages > 1 ? " x" + std::to_string(par.virtual_stages) : "") + ", "
          : "";
  out += "strategy   tp " + std::to_string(par.tp) + ", pp " + std::to_string(par.pp) + ", dp " +
         std::to_string(par.dp) + (par.ep > 1 ? ", ep " + std::to_string(par.ep) : "") + ", " +
         schedule + counted(p.microbatches, "micro-batch", "micro-batches") +
         " per pipeline, recompute " + std::string(to_string(par.recompute)) +
         (par.sequence_parallel ? ", sequence parallel" : "") + "\n\n";
  out += "step time                  " + fmt::format("{:.3f} s", p.step_time_s) + "\n";
  // Small machines (a CPU cluster) run at a fraction of a TFLOP/s: those keep three digits.
  const auto rate = [](int decimals, double value) {
    return value >= 1 ? fmt::format("{:.{}f}", value, decimals) : fmt::format("{:.3g}", value);
  };
  out += "tokens/s                   " + rate(0, p.tokens_per_s) + "\n";
  out += "model TFLOP/s per device   " + rate(1, p.model_tflops_per_device) + "\n";
  out += "MFU                        " + rate(1, 100 * p.mfu) +
         " %  (model FLOPs, causal attention counted half)\n";
  out += "HFU                        " + rate(1, 100 * p.hfu) +
         " %  (every FLOP run, recompute included)\n\n";
  out += step_split_text(p);
  const auto& m = p.memory;
  out += "memory per rank (highest: rank " + std::to_string(m.rank) + ")\n";
  out += "  weights                  " + gib(m.weights_bytes) + "\n";
  out += "  gradients                " + gib(m.gradients_bytes) + "\n";
  out += "  optimizer state          " + gib(m.optimizer_bytes) + "\n";
  out += "  activations (peak)       " + gib(m.activations_bytes) + "\n";
  out += "  communication buffers    " + gib(m.communication_buffer_bytes) + "\n";
  out += "  NCCL buffers             " + gib(m.nccl_buffer_bytes) + "\n";
  out += "  allocator headroom       " + gib(m.allocator_headroom_bytes) +
         (p.allocator_headroom_fraction > 0
              ? fmt::format("  ({:.1f} % of reserved)", 100 * p.allocator_headroom_fraction)
              : std::string("  (no caching allocator on this device)")) +
         "\n";
  out += "  peak                     " + gib(m.peak_bytes) + " of " + gib(m.capacity_bytes) +
         (m.fits ? "  fits\n" : "  DOES NOT FIT\n");
  if (p.stage_memory.size() > 1) {
    out += "  peak by pipeline stage  ";
    for (std::size_t s = 0; s < p.stage_memory.size(); ++s) {
      out += fmt::format(" {:.1f}", p.stage_memory[s].peak_bytes / (1024.0 * 1024 * 1024));
    }
    out += " GiB\n";
  }
  if (p.changes_that_fit)
    out += changes_text(*p.changes_that_fit);
  if (with_links) {
    out += "\nbusiest links (bytes carried / what the link could carry in the step)\n";
    for (const auto& l : p.busiest_links) {
      char line[256];
      std::snprintf(line, sizeof line, "  %-40s %6.1f %%  %10.3f GB at %7.1f GB/s\n",
                    l.name.c_str(), 100 * l.utilization, l.bytes / 1e9,
                    l.bandwidth_bytes_per_s / 1e9);
      out += line;
    }
  }
  for (const std::string& note : p.notes)
    out += "\nnote: " + note + "\n";
  out += "\ncompute model: " + p.compute_model + "\n";
  out += "links:         " + p.link_bandwidths + "\n";
  out += "simulated:     " + simulation_text(p) + "\n";
  return printable_text(out);
}

namespace {
nlohmann::json links_json(const std::vector<LinkUsage>& links) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : links) {
    out.push_back({{"link", l.name},
                   {"bandwidth_bytes_per_s", l.bandwidth_bytes_per_s},
                   {"bytes", l.bytes},
                   {"utilization", l.utilization}});
  }
  return out;
}

nlohmann::json changes_json(const std::vector<MemoryFitChange>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const MemoryFitChange& c : changes) {
    out.push_back({{"change", c.change},
                   {"peak_bytes", c.memory.peak_bytes},
                   {"step_time_s", c.step_time_s}});
  }
  return out;
}
}  // namespace

namespace {
nlohmann::json breakdown_json(const StepBreakdown& b) {
  nlohmann::json exposed = nlohmann::json::object();
  for (std::size_t s = 0; s < b.exposed_by_stream_s.size(); ++s) {
    if (b.exposed_by_stream_s[s] > 0)
      exposed[std::string(to_string(static_cast<Stream>(s)))] = b.exposed_by_stream_s[s];
  }
  return {{"rank", b.rank},
          {"stage", b.stage},
          {"compute_s", b.compute_s},
          {"exposed_comm_s", b.exposed_comm_s},
          {"bubble_s", b.bubble_s},
          {"exposed_by_stream_s", exposed},
          {"bound_by", std::string(to_string(b.bound_by()))}};
}

nlohmann::json to_json(const Prediction& p) {
  auto memory = [](const MemoryBreakdown& m) {
    return nlohmann::json{{"rank", m.rank},
                          {"weights_bytes", m.weights_bytes},
                          {"gradients_bytes", m.gradients_bytes},
                          {"optimizer_bytes", m.optimizer_bytes},
                          {"activations_bytes", m.activations_bytes},
                          {"communication_buffer_bytes", m.communication_buffer_bytes},
                          {"nccl_buffer_bytes", m.nccl_buffer_bytes},
                          {"allocator_headroom_bytes", m.allocator_headroom_bytes},
                          {"peak_bytes", m.peak_bytes},
                          {"capacity_bytes", m.capacity_bytes},
                          {"fits", m.fits}};
  };
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& m : p.stage_memory)
    stages.push_back(memory(m));
  nlohmann::json stage_breakdowns = nlohmann::json::array();
  for (const auto& b : p.stage_breakdown)
    stage_breakdowns.push_back(breakdown_json(b));
  const auto& par = p.parallelism;
  return nlohmann::json{{"scaleplan_version", scaleplan_version_text()},
                        {"scenario", p.scenario},
                        {"device", p.device},
                        {"devices", p.devices},
                        {"parallelism",
                         {{"tp", par.tp},
                          {"pp", par.pp},
                          {"dp", par.dp},
                          {"cp", par.cp},
                          {"ep", par.ep},
                          {"schedule", std::string(to_string(par.schedule))},
                          {"virtual_stages", par.virtual_stages},
                          {"recompute", std::string(to_string(par.recompute))},
                          {"sequence_parallel", par.sequence_parallel},
                          {"microbatches", p.microbatches}}},
                        {"step_time_s", p.step_time_s},
                        {"tokens_per_s", p.tokens_per_s},
                        {"model_parameters", p.model_parameters},
                        {"model_active_parameters", p.model_active_parameters},
                        {"model_flops_per_step", p.model_flops_per_step},
                        {"model_tflops_per_device", p.model_tflops_per_device},
                        {"mfu", p.mfu},
                        {"mfu_convention", "model FLOPs, causal attention counted half"},
                        {"hardware_flops_per_step", p.hardware_flops_per_step},
                        {"hfu", p.hfu},
                        {"allocator_headroom_fraction", p.allocator_headroom_fraction},
                        {"memory", memory(p.memory)},
                        {"stage_memory", stages},
                        {"breakdown", breakdown_json(p.breakdown)},
                        {"stage_breakdown", stage_breakdowns},
                        {"notes", p.notes},
                        {"compute_model", p.compute_model},
                        {"link_bandwidths", p.link_bandwidths},
                        {"collectives_by_algorithm", p.collectives_by_algorithm},
                        {"busiest_links", links_json(p.busiest_links)},
                        {"simulation",
                         {{"events", p.events},
                          {"flows", p.flows},
                          {"replicas_simulated_as_one", p.replicas_simulated_as_one},
                          {"network_model", std::string(to_string(p.network_model))},
                          {"flow_transactions", p.flow_transactions},
                          {"alpha_beta_transactions", p.alpha_beta_transactions},
                          {"flows_if_all_flows", p.flows_if_all_flows},
                          {"routed_sources_if_all_flows", p.routed_sources_if_all_flows},
                          {"flow_budget", p.flow_budget},
                          {"route_search_budget", p.route_search_budget},
                          {"network_vertices_and_links", p.network_size}}}};
}

}  // namespace

std::string format_json(const Prediction& prediction) {
  nlohmann::json j = to_json(prediction);
  if (prediction.changes_that_fit)
    j["changes_that_fit"] = changes_json(*prediction.changes_that_fit);
  return j.dump(2) + "\n";
}

}  // namespace scaleplan
