// The prediction as the reports show it: the text report and the JSON (docs/scenario-format.md),
// apart from the run itself (prediction.cpp).
#include "sim/report/prediction.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "version/version.hpp"

#include <nlohmann/json.hpp>

namespace scaleplan {

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
  if (!p.ranks_differ.empty())
    out += " (the ranks differ: " + p.ranks_differ + "; the one-replica shortcut is off)";
  out += "; " + std::to_string(p.flow_transactions) + " collectives and messages as flows";
  if (p.alpha_beta_transactions > 0) {
    out += ", " + std::to_string(p.alpha_beta_transactions) + " on the alpha-beta fast path";
    if (p.network_model == NetworkModel::automatic) {
      const double budget_sources = p.flow_source_budget / static_cast<double>(p.network_size);
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

// The rank that bounds a step whose ranks differ, and how long the others wait for it.
std::string step_bound_text(const StepBound& b) {
  std::string where = "device " + std::to_string(b.device) + ", " + b.device_name;
  if (!b.group.empty())
    where += ", group " + b.group;
  if (!b.slowed.empty())
    where += ", slowed " + b.slowed;
  std::string out = "bound by rank " + std::to_string(b.rank) + " (" + where + "), busy " +
                    fmt::format("{:.3f} s", b.busy_s) + "\n";
  if (b.other_ranks > 0) {
    out += fmt::format("  the other {} {} for it {:.3f} s on average, {:.3f} s at most\n",
                       counted(b.other_ranks, "rank"), b.other_ranks == 1 ? "waits" : "wait",
                       b.mean_wait_s, b.max_wait_s);
  }
  if (!b.groups.empty()) {
    out += fmt::format("  {:<25}{:>5}   {:>9}  {:>9}\n", "by node group", "ranks", "busy", "waits");
    for (const NodeGroupTime& g : b.groups) {
      out += fmt::format("    {:<22} {:>5}   {:>7.3f} s  {:>7.3f} s\n",
                         g.group == g.device ? g.group : g.group + " (" + g.device + ")", g.ranks,
                         g.mean_busy_s, g.mean_wait_s);
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
  if (p.step_bound && !p.step_bound->groups.empty()) {
    // Node groups: each group's devices.
    std::string groups;
    for (const NodeGroupTime& g : p.step_bound->groups) {
      groups += (groups.empty() ? "" : " + ") + std::to_string(g.ranks) + " x " + g.device +
                (g.group == g.device ? "" : " (" + g.group + ")");
      if (g.shape) {
        // Groups of different node shapes: each group's nodes as built.
        groups += fmt::format(" in {} of {}, {}, {}", counted(g.nodes, "node"), g.shape->devices,
                              to_string(g.shape->fabric), counted(g.shape->nics, "NIC"));
      }
    }
    out += "cluster    " + groups + "\n";
  } else {
    out += "cluster    " + std::to_string(p.devices) + " x " + p.device + "\n";
  }
  out += "model      " + parameter_count(p.model_parameters) + " parameters";
  if (p.mtp_modules > 0) {
    out += " (" + parameter_count(p.mtp_parameters) + " of them in " +
           counted(p.mtp_modules, "multi-token prediction module") + ")";
  }
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
  if (p.step_bound)
    out += step_bound_text(*p.step_bound);
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
    out += "\nbusiest links by tier (bytes carried / what the link could carry in the step)\n";
    for (const LinkTier& tier : p.link_tiers) {
      out += fmt::format("  {}: {} of {} links carried {:.3f} GB\n", tier.tier, tier.used,
                         tier.links, tier.bytes / 1e9);
      for (const auto& l : tier.busiest) {
        char line[256];
        std::snprintf(line, sizeof line, "    %-38s %6.1f %%  %10.3f GB at %7.1f GB/s\n",
                      l.name.c_str(), 100 * l.utilization, l.bytes / 1e9,
                      l.bandwidth_bytes_per_s / 1e9);
        out += line;
      }
    }
  }
  for (const std::string& note : p.notes)
    out += "\nnote: " + note + "\n";
  out += "\ncompute model: " + p.compute_model + "\n";
  out += "links:         " + p.link_bandwidths + "\n";
  if (!p.communication_by_fit.empty()) {
    std::string timed;
    for (const auto& [basis, launched] : p.communication_by_fit)
      timed += (timed.empty() ? "" : "; ") + basis + fmt::format(", {} launched", launched);
    out += "collectives:   " + timed + "\n";
  }
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

nlohmann::json tiers_json(const std::vector<LinkTier>& tiers) {
  nlohmann::json out = nlohmann::json::array();
  for (const LinkTier& t : tiers) {
    out.push_back({{"tier", t.tier},
                   {"links", t.links},
                   {"links_used", t.used},
                   {"bytes", t.bytes},
                   {"busiest", links_json(t.busiest)}});
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
                        {"links_by_tier", tiers_json(p.link_tiers)},
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
  if (prediction.mtp_modules > 0) {
    j["mtp_modules"] = prediction.mtp_modules;
    j["mtp_parameters"] = prediction.mtp_parameters;
  }
  if (!prediction.communication_by_fit.empty())
    j["communication_by_fit"] = prediction.communication_by_fit;
  if (!prediction.ranks_differ.empty())
    j["simulation"]["ranks_differ"] = prediction.ranks_differ;
  if (const auto& b = prediction.step_bound) {
    nlohmann::json groups = nlohmann::json::array();
    for (const NodeGroupTime& g : b->groups) {
      groups.push_back({{"group", g.group},
                        {"device", g.device},
                        {"ranks", g.ranks},
                        {"mean_busy_s", g.mean_busy_s},
                        {"mean_wait_s", g.mean_wait_s}});
      if (g.shape) {
        groups.back()["nodes"] = g.nodes;
        groups.back()["devices_per_node"] = g.shape->devices;
        groups.back()["node_fabric"] = to_string(g.shape->fabric);
        groups.back()["nics_per_node"] = g.shape->nics;
      }
    }
    j["step_bound"] = {{"rank", b->rank},
                       {"device", b->device},
                       {"device_name", b->device_name},
                       {"group", b->group},
                       {"slowed", b->slowed},
                       {"busy_s", b->busy_s},
                       {"other_ranks", b->other_ranks},
                       {"mean_wait_s", b->mean_wait_s},
                       {"max_wait_s", b->max_wait_s},
                       {"groups", groups}};
  }
  if (prediction.changes_that_fit)
    j["changes_that_fit"] = changes_json(*prediction.changes_that_fit);
  if (const auto& v = prediction.vocab_padding)
    j["vocab_padding"] = {{"written", v->written}, {"padded", v->padded}};
  return j.dump(2) + "\n";
}

}  // namespace scaleplan
