#include "sim/scenario/scenario.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "hardware/io/profile_io.hpp"
#include "hardware/topology.hpp"
#include "sim/scenario/scenario_graph.hpp"
#include "sim/scenario/scenario_network.hpp"
#include "sim/scenario/scenario_node.hpp"
#include "sim/scenario/scenario_search.hpp"
#include "sim/scenario/scenario_sections.hpp"
#include "sim/scenario/stage_balance.hpp"
#include "sim/strategy/pipeline_layout.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

void read_cluster(MapReader& top, const Catalog& catalog, Scenario& s) {
  if (!top.require("cluster"))
    return;
  MapReader c = top.child("cluster");
  s.locations["cluster"] = top.location("cluster");
  s.locations["cluster.network"] =
      c.has("network") ? c.location("network") : top.location("cluster");
  read_cluster_section(c, catalog, s.cluster);
}

void read_model(MapReader& top, Scenario& s) {
  if (!top.require("model"))
    return;
  MapReader m = top.child("model");
  if (is_graph_model(m)) {
    read_graph_model(m, s.job);
    return;
  }
  TransformerConfig model;
  read_model_section(m, model);
  if (model.name.empty())
    model.name = s.name;
  // The language model as the layer graph it is (a preset is a shipped graph), whose
  // configuration the job then reads back from it.
  if (m.diagnostics().empty())
    set_graph(s.job, decoder_graph(model));
  else
    s.job.model = model;
}

bool every_device_supports(const ClusterSpec& cluster, Dtype dtype) {
  for (const NodeGroup& g : cluster.node_groups) {
    if (!g.device.supports(dtype))
      return false;
  }
  return cluster.device.supports(dtype);
}

// Each node group's device must run the training dtype (the first group's, cluster.device, is
// checked with the strategy).
void check_group_dtypes(const YAML::Node& root, const std::string& file, const Scenario& s,
                        Diagnostics& diagnostics) {
  const auto& groups = s.cluster.node_groups;
  const Dtype dtype = s.job.training.dtype;
  for (std::size_t g = 1; g < groups.size(); ++g) {
    const DeviceSpec& device = groups[g].device;
    if (device.supports(dtype))
      continue;
    std::string have;
    for (const auto& [d, peak] : device.peak_flops_per_s)
      have += (have.empty() ? "" : ", ") + std::string(to_string(d));
    diagnostics.error(location_of(root["cluster"]["node_groups"][g]["device"], file),
                      "cluster.node_groups[" + std::to_string(g) + "].device",
                      fmt::format("{} has no {} peak in the catalog, and training.dtype is {}; "
                                  "use a device with one, or a dtype all groups have ({})",
                                  device.name, to_string(dtype), to_string(dtype), have));
  }
}

// `micro_batch_by_group: {a100: 2}`: the micro-batch of the replicas on a node group, keyed by
// the groups' names (a group left out takes training.micro_batch).
void read_group_micro_batches(MapReader& t, Scenario& s) {
  if (!t.has("micro_batch_by_group")) {
    t.accept("micro_batch_by_group");
    return;
  }
  if (s.cluster.node_groups.empty()) {
    t.accept("micro_batch_by_group");
    t.error("micro_batch_by_group",
            "the cluster has no node_groups; name groups in cluster.node_groups, or leave "
            "micro_batch_by_group out");
    return;
  }
  MapReader g = t.child("micro_batch_by_group");
  s.locations["training.micro_batch_by_group"] = t.location("micro_batch_by_group");
  for (const NodeGroup& group : s.cluster.node_groups) {
    if (auto v = g.integer(group.name, 1, max_global_batch))
      s.micro_batch_by_group[group.name] = *v;
  }
  g.finish();
}

void read_training(MapReader& top, Scenario& s) {
  if (!top.require("training"))
    return;
  MapReader t = top.child("training");
  // Where a step too long for the simulator sends the reader (predict on a Scenario).
  s.locations["training"] = top.location("training");
  for (const char* key : {"global_batch", "micro_batch"}) {
    s.locations[std::string("training.") + key] =
        t.has(key) ? t.location(key) : top.location("training");
  }
  TrainingSpec& training = s.job.training;
  if (auto v = t.integer("global_batch", 1, max_global_batch, required_key))
    training.global_batch = *v;
  if (auto v = t.integer("micro_batch", 1, max_global_batch, 1))
    training.micro_batch = *v;
  if (auto dtype = t.enumeration("dtype", dtype_names))
    training.dtype = *dtype;
  read_group_micro_batches(t, s);
  t.finish();
}

// Whether the file writes the dotted `key` below `map`.
bool written(MapReader& map, std::string_view key) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos)
    return map.has(key);
  if (!map.has(key.substr(0, dot)))
    return false;
  MapReader section = map.child(key.substr(0, dot));
  return written(section, key.substr(dot + 1));
}

void report_at(MapReader& map, std::string_view key, std::string message) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos) {
    map.error(key, std::move(message));
    return;
  }
  MapReader section = map.child(key.substr(0, dot));
  report_at(section, key.substr(dot + 1), std::move(message));
}

// A strategy problem at its key's place in the file, or at the key the file writes instead when
// a default broke the rule.
void report(MapReader& top, const PlanProblem& problem) {
  const bool instead = !problem.key_if_unwritten.empty() && !written(top, problem.key) &&
                       written(top, problem.key_if_unwritten);
  report_at(top, instead ? problem.key_if_unwritten : problem.key, problem.message);
}

// Each data-parallel replica's micro-batch: that of the node group its ranks run on (rank r on
// device r). A replica across groups of different micro-batches is an error at the key.
void resolve_replica_micro_batches(MapReader& top, Scenario& s) {
  const ParallelismSpec& p = s.job.parallelism;
  const ClusterSpec& cluster = s.cluster;
  if (s.micro_batch_by_group.empty() ||
      static_cast<std::int64_t>(p.tp) * p.cp * p.dp * p.pp != cluster.device_count())
    return;
  const auto micro_batch_of = [&](int rank) {
    const NodeGroup& group =
        cluster.node_groups[cluster.group_of_node(cluster.node_of_device(rank))];
    const auto found = s.micro_batch_by_group.find(group.name);
    return std::make_pair(
        &group, found != s.micro_batch_by_group.end() ? found->second : s.job.training.micro_batch);
  };
  std::vector<std::int64_t> batches;
  for (int d = 0; d < p.dp; ++d) {
    const auto first = micro_batch_of(rank_of({0, 0, d, 0}, p));
    for (int stage = 0; stage < p.pp; ++stage) {
      const auto other = micro_batch_of(rank_of({0, 0, d, stage}, p));
      if (other.second != first.second) {
        report_at(top, "training.micro_batch_by_group",
                  fmt::format("data-parallel replica {} runs on node groups {} and {}, whose "
                              "micro-batches differ ({} and {}); a replica runs one micro-batch "
                              "size: give them the same one, or place each pipeline in one group",
                              d, first.first->name, other.first->name, first.second, other.second));
        return;
      }
    }
    batches.push_back(first.second);
  }
  s.job.training.replica_micro_batch = std::move(batches);
}

// A torus whose scenario leaves out rank_axes: the fill order that keeps each tensor-parallel
// group on the fewest axes (torus_fill_order_for_group), marked as chosen.
void place_tensor_parallel_on_torus(ClusterSpec& cluster, int tp) {
  TorusSpec& torus = cluster.network.torus;
  if (cluster.network.topology != NetworkTopologyKind::torus || !torus.rank_axes.empty() ||
      torus.dims.empty())
    return;
  torus.rank_axes = torus_fill_order_for_group(torus.dims, tp);
  torus.rank_axes_automatic = true;
}

// parallelism.sharding: 2d (GSPMD's 2D weight sharding: ZeRO-3 over the data axis of a slice and
// the activations' all-gather and reduce-scatter over the model axis) and parallelism.dcn_dp,
// the data-parallel ways across slices (the cluster's slices unless written).
void read_weight_sharding(MapReader& p, const ClusterSpec& cluster, ParallelismSpec& par) {
  if (auto v = p.enumeration("sharding", weight_sharding_names))
    par.sharding = *v;
  if (par.sharding != WeightSharding::two_d) {
    p.accept("dcn_dp");
    if (p.has("dcn_dp"))
      p.error("dcn_dp",
              "applies only to sharding: 2d (plain data parallelism across slices "
              "needs no key: its all-reduce crosses the DCN on the slice axis)");
    return;
  }
  if (p.has("zero") && par.zero != 3) {
    p.error("zero", fmt::format("sharding: 2d shards the weights over the data axis (ZeRO stage "
                                "3), not stage {}; write zero: 3 or leave it out",
                                par.zero));
  }
  par.zero = 3;
  if (p.has("sequence_parallel") && !par.sequence_parallel && par.tp > 1) {
    p.error("sequence_parallel",
            "sharding: 2d all-gathers and reduce-scatters the activations over the model axis "
            "(tp) as sequence parallelism does; write true or leave it out");
  }
  par.sequence_parallel = par.tp > 1;
  const bool torus = cluster.network.topology == NetworkTopologyKind::torus;
  const int slices = torus ? cluster.network.torus.slices : 1;
  par.dcn_dp = slices;
  if (auto v = p.integer("dcn_dp", 1, max_devices))
    par.dcn_dp = static_cast<int>(*v);
  if (par.dp % par.dcn_dp != 0 || par.dp == par.dcn_dp) {
    p.error(p.has("dcn_dp") ? "dcn_dp" : "dp",
            fmt::format("dcn_dp {} must divide dp {} and leave at least 2 data-parallel ranks "
                        "in a slice to shard over",
                        par.dcn_dp, par.dp));
  } else if (slices > 1 && par.dcn_dp != slices) {
    p.error("dcn_dp", fmt::format("the cluster has {} slices (network.slices): dcn_dp must be {}",
                                  slices, slices));
  } else if (par.dcn_dp > 1 && par.pp > 1) {
    p.error("dcn_dp", "data parallelism across slices with pp > 1 is not modelled; use pp: 1");
  }
}

// parallelism.recompute_modules: Megatron-Core's --recompute-modules, the parts of each layer
// that recompute: selective runs again (core_attn when left out).
void read_recompute_modules(MapReader& p, const TransformerConfig& model, ParallelismSpec& par) {
  if (!p.has("recompute_modules"))
    return;
  SelectiveRecompute modules{false, false, false, false, false};
  std::vector<std::string> names;
  for (const RecomputeModuleName& m : recompute_module_names)
    names.emplace_back(m.name);
  for (const YAML::Node& item : p.sequence("recompute_modules")) {
    const std::string name = item.IsScalar() ? item.Scalar() : std::string();
    const auto* known =
        std::find_if(std::begin(recompute_module_names), std::end(recompute_module_names),
                     [&](const RecomputeModuleName& m) { return m.name == name; });
    if (known != std::end(recompute_module_names)) {
      modules.*(known->flag) = true;
    } else {
      p.diagnostics().error(item, p.path_of("recompute_modules"),
                            fmt::format("expected {} (Megatron-Core's moe and shared_experts "
                                        "are not modelled)",
                                        join_alternatives(names)));
    }
  }
  par.recompute_modules = modules;
  if (par.recompute != Recompute::selective) {
    p.error("recompute_modules",
            "the modules are what recompute: selective runs again; set recompute: selective or "
            "leave recompute_modules out");
  }
  if (modules.moe_activation && !model.is_moe()) {
    p.error("recompute_modules",
            "moe_act recomputes the routed experts' activation, and the model has no experts "
            "(model.moe)");
  }
  if (modules.mla_up_projection && !model.latent_attention()) {
    p.error("recompute_modules",
            "mla_up_proj recomputes latent attention's up-projections, and the model has no "
            "latent attention (model.mla)");
  }
}

void read_parallelism(MapReader& top, Scenario& s, ScenarioUse use) {
  MapReader p = top.child("parallelism");
  s.locations["parallelism"] = top.location("parallelism");
  ParallelismSpec& par = s.job.parallelism;
  auto degree = [&](std::string_view key, int& field) {
    if (auto v = p.integer(key, 1, max_devices, 1))
      field = static_cast<int>(*v);
  };
  degree("tp", par.tp);
  place_tensor_parallel_on_torus(s.cluster, par.tp);
  degree("pp", par.pp);
  degree("cp", par.cp);
  degree("ep", par.ep);
  if (p.has("dp"))
    degree("dp", par.dp);
  else
    par.dp = fitting_data_parallel_degree(s.cluster, par);
  if (auto schedule = p.enumeration("schedule", pipeline_schedule_names))
    par.schedule = *schedule;
  if (auto v = p.integer("virtual_stages", 1, max_layers, 1))
    par.virtual_stages = static_cast<int>(*v);
  if (auto v = p.integer("zero", 0, 3, 0))
    par.zero = static_cast<int>(*v);
  if (auto recompute = p.enumeration("recompute", recompute_names))
    par.recompute = *recompute;
  read_recompute_modules(p, s.job.model, par);
  if (auto v = p.boolean("sequence_parallel"))
    par.sequence_parallel = *v;
  if (auto v = p.boolean("overlap_grad_reduce"))
    par.overlap_grad_reduce = *v;
  read_weight_sharding(p, s.cluster, par);
  // From a kilobyte (1e-300 made every gradient its own bucket) to a terabyte.
  if (auto v = p.number("grad_bucket_mb", NumberRange::closed(1e-3, 1e6)))
    par.grad_bucket_bytes = *v * 1e6;
  if (auto v = p.integers("stage_layers", 0, max_layers, 1, max_devices))
    par.stage_layers = *v;
  if (auto layout = p.string("pipeline_layout")) {
    const std::int64_t chunks =
        static_cast<std::int64_t>(par.pp) *
        (par.schedule == PipelineSchedule::interleaved_1f1b ? par.virtual_stages : 1);
    const PipelineLayout read =
        parse_pipeline_layout(*layout, chunks, s.job.model.layers, s.job.model.mtp_layers);
    if (p.has("stage_layers")) {
      p.error("pipeline_layout", "stage_layers sets the split already; give one of the two");
    } else if (!runs_partitioned(s.job)) {
      p.error("pipeline_layout",
              "the layout places a decoder's embedding, layers and loss; this "
              "model's layers run whole: give stage_layers instead");
    } else if (!read.problem.empty()) {
      p.error("pipeline_layout", read.problem);
    } else {
      par.stage_layers = read.layers_per_chunk;
    }
  }
  if (auto balance = p.choice("balance", {"layers", "time"})) {
    par.balance_by_time = *balance == "time";
    if (par.balance_by_time && (p.has("stage_layers") || p.has("pipeline_layout"))) {
      p.error("balance",
              "stage_layers (or pipeline_layout) sets the split; leave out balance: "
              "time, or the split");
    } else if (par.balance_by_time && par.schedule == PipelineSchedule::interleaved_1f1b) {
      p.error("balance",
              "balance: time splits the layers over pipeline stages, not over the "
              "interleaved schedule's model chunks; give stage_layers, one count per "
              "chunk, or leave balance out");
    }
  }
  // balance: time splits the layers by their time on the cluster's devices (their catalog
  // rooflines, slowed devices' factors; a calibration profile is read later and does not change
  // the split). Stages of slower devices get fewer layers.
  if (par.balance_by_time && par.stage_layers.empty() && par.pp > 1 && p.diagnostics().empty() &&
      s.job.model.layers >= par.pp && !s.cluster.device.name.empty() &&
      every_device_supports(s.cluster, s.job.training.dtype) &&
      s.cluster.device_count() % par.pp == 0) {
    par.stage_layers = balanced_stage_layers(s.job, s.cluster);
  }
  // The strategy rules relate values of every section; one that was not read still holds its
  // default, so they wait until everything before them has been read without an error.
  if (use == ScenarioUse::run && p.diagnostics().empty())
    resolve_replica_micro_batches(top, s);
  if (use == ScenarioUse::run && p.diagnostics().empty()) {
    for (const PlanProblem& problem : check_strategy(s.cluster, s.job))
      report(top, problem);
  }
  p.finish();
}

// `framework:` a framework's name, or a mapping of its name and the settings that override its
// defaults one by one (sim/strategy/framework.hpp). The defaults depend on the training dtype and
// the ZeRO stage, so it is read after both; parallelism.overlap_grad_reduce, when written, keeps
// its value.
void read_framework(MapReader& top, Scenario& s) {
  if (!top.has("framework")) {
    top.accept("framework");
    return;
  }
  TrainingJob& job = s.job;
  const bool overlap_written = written(top, "parallelism.overlap_grad_reduce");
  auto apply_defaults = [&](Framework framework) {
    const FrameworkDefaults d =
        framework_defaults(framework, job.training.dtype, job.parallelism.zero);
    job.framework = d.spec;
    if (!overlap_written)
      job.parallelism.overlap_grad_reduce = d.overlap_grad_reduce;
  };
  if (!top.node()["framework"].IsMap()) {
    if (auto framework = top.enumeration("framework", framework_names))
      apply_defaults(*framework);
    return;
  }
  MapReader f = top.child("framework");
  if (auto framework = f.enumeration("name", framework_names))
    apply_defaults(*framework);
  FrameworkSpec& spec = job.framework;
  if (auto v = f.boolean("overlap_param_gather"))
    spec.overlap_param_gather = *v;
  // Parameter counts: from one to 10^15, beyond any model.
  if (auto v = f.number("zero3_prefetch_parameters", NumberRange::closed(1, 1e15)))
    spec.zero3_prefetch_parameters = *v;
  if (auto v = f.number("zero3_max_live_parameters", NumberRange::closed(1, 1e15)))
    spec.zero3_max_live_parameters = *v;
  if (auto v = f.enumeration("grad_reduce_dtype", grad_reduce_dtype_names))
    spec.grad_reduce_dtype = *v;
  if (auto v = f.boolean("pipeline_scatter_gather"))
    spec.pipeline_scatter_gather = *v;
  if (auto v = f.boolean("pipeline_blocking_p2p"))
    spec.pipeline_blocking_p2p = *v;
  if (auto v = f.boolean("pipeline_output_regather"))
    spec.pipeline_output_regather = *v;
  if (auto v = f.boolean("bf16_optimizer"))
    spec.bf16_optimizer = *v;
  if (auto v = f.boolean("tp_comm_overlap"))
    spec.tp_comm_overlap = *v;
  if (auto v = f.boolean("overlap_moe_expert_parallel_comm"))
    spec.overlap_moe_expert_parallel_comm = *v;
  if (auto v = f.enumeration("moe_dispatcher", moe_dispatcher_names))
    spec.moe_dispatcher = *v;
  if (auto v = f.boolean("flat_parameter_gradient_copy"))
    spec.flat_parameter_gradient_copy = *v;
  if (auto v = f.enumeration("optimizer_step", optimizer_step_names))
    spec.optimizer_step = *v;
  if (auto v = f.enumeration("gradient_accumulation", gradient_accumulation_names))
    spec.gradient_accumulation = *v;
  if (auto v = f.enumeration("zero2_gradient_reduction", zero2_gradient_reduction_names))
    spec.zero2_gradient_reduction = *v;
  if (auto v = f.enumeration("fp8_recipe", fp8_recipe_names))
    spec.fp8_recipe = *v;
  if (auto v = f.boolean("fp8_weight_cache"))
    spec.fp8_weight_cache = *v;
  if (auto v = f.enumeration("fp8_cast_fusion", fp8_cast_fusion_names))
    spec.fp8_cast_fusion = *v;
  if (auto v = f.enumeration("cross_entropy_fusion", cross_entropy_fusion_names))
    spec.cross_entropy_fusion = *v;
  if (auto v = f.enumeration("attention_library", attention_library_names))
    spec.attention_library = *v;
  f.finish();
}

// `calibration: PATH` names a profile (docs/calibration.md), relative to the scenario's folder.
// Its own errors keep their file and line; a profile for another device, or without a GEMM fit
// for the training dtype, is an error at the key.
void read_calibration(MapReader& top, const std::string& file_label, Scenario& s) {
  auto path = top.string("calibration");
  if (!path)
    return;
  if (path->empty()) {
    top.error("calibration", "expected the path of a calibration profile");
    return;
  }
  std::filesystem::path resolved(*path);
  if (resolved.is_relative())
    resolved = std::filesystem::path(file_label).parent_path() / resolved;
  s.calibration = resolved.lexically_normal().string();
  try {
    s.profile = load_profile(resolved);
  } catch (const InputError& e) {
    for (const Diagnostic& d : e.diagnostics())
      top.diagnostics().error(d.where, d.key, d.message);
    top.error("calibration", "cannot use the profile " + *s.calibration);
    return;
  }
  for (const std::string& mismatch : calibration_mismatches(s, *s.profile, *s.calibration))
    top.error("calibration", mismatch);
}

// `memory:` settings of the framework around the plan.
void read_memory(MapReader& top, Scenario& s) {
  MapReader m = top.child("memory");
  // A share of the caching allocator's reserved memory: at most 0.9, a peak ten times what is
  // allocated (GMLake measures up to 0.33); close to 1 the headroom A·f/(1−f) has no bound.
  if (auto v = m.number("allocator_headroom_fraction", NumberRange::closed(0, 0.9)))
    s.allocator_headroom_fraction = *v;
  m.finish();
}

}  // namespace

Scenario parse_scenario(std::string_view yaml_text, const std::string& file_label,
                        const Catalog& catalog, ScenarioUse use) {
  return parse_scenario_node(load_yaml_string(yaml_text, file_label), file_label, catalog, use);
}

Scenario parse_scenario_node(const YAML::Node& root, const std::string& file_label,
                             const Catalog& catalog, ScenarioUse use) {
  Diagnostics diagnostics(file_label);
  if (!root.IsMap()) {
    diagnostics.error(root, "",
                      "a scenario is a mapping with cluster, model, training and "
                      "parallelism sections");
    diagnostics.throw_if_any();
  }
  MapReader top(root, "", diagnostics);
  Scenario s;
  s.file = file_label;
  s.name = top.string("name").value_or(std::filesystem::path(file_label).stem().string());
  top.accept("description");
  read_cluster(top, catalog, s);
  read_model(top, s);
  if (!runs_partitioned(s.job) && (use == ScenarioUse::plan || top.has("search"))) {
    // The search enumerates tp, cp, ep, ZeRO, recompute and schedules, and its fast estimate
    // reads the transformer's closed forms (plan_quantities.hpp): a graph whose layers run whole
    // has only dp and pp to choose and no estimate yet.
    top.error("model",
              "the plan search (scaleplan plan, search:) covers transformers only (decoder "
              "graphs: a token embedding, transformer layers, an output head); run a layer-graph "
              "model with scaleplan run, or leave out search:");
  }
  read_training(top, s);
  if (diagnostics.empty())
    check_group_dtypes(root, file_label, s, diagnostics);
  read_parallelism(top, s, use);
  read_framework(top, s);
  // A vocabulary that tp does not divide is padded as the framework pads it (the framework read
  // above); the report says so.
  pad_vocabulary(s.job);
  // The search reads the cluster, model and training it checks its values against; it waits for
  // them to be read without an error.
  if (top.has("search") && diagnostics.empty())
    s.search = read_search(top, s.cluster, s.job);
  else
    top.accept("search");
  if (top.has("calibration"))
    read_calibration(top, file_label, s);
  else
    top.accept("calibration");
  read_memory(top, s);
  if (top.has("measured")) {
    MapReader m = top.child("measured");
    Measured measured;
    // A step of 1 µs to 11.6 days: what a device can run at all, and what the simulator
    // represents; anything outside is a typo, and its percentage error a number of 300 digits.
    if (auto v = m.number("step_time_s", NumberRange::closed(1e-6, 1e6), required_key))
      measured.step_time_s = *v;
    measured.source = m.string("source").value_or("");
    if (!m.has("source"))
      m.require("source");
    m.finish();
    s.measured = measured;
  } else {
    top.accept("measured");
  }
  top.finish();
  diagnostics.throw_if_any();
  return s;
}

std::vector<std::string> calibration_mismatches(const Scenario& scenario, const Profile& profile,
                                                const std::string& profile_name) {
  std::vector<std::string> mismatches;
  const std::string& device = scenario.cluster.device.name;
  if (scenario.cluster.mixes_devices()) {
    mismatches.push_back("the profile " + profile_name +
                         " times one device, but the cluster's "
                         "node groups mix several; leave out the calibration profile (each "
                         "group is timed by its device's catalog roofline)");
    return mismatches;
  }
  if (scenario.cluster.mixes_shapes()) {
    mismatches.push_back("the profile " + profile_name +
                         " was measured on nodes of one shape, but the cluster's node groups "
                         "have nodes of different shapes; leave out the calibration profile");
    return mismatches;
  }
  if (!device.empty() && profile.device != device) {
    mismatches.push_back("the profile " + profile_name + " refines " +
                         (profile.device.empty()
                              ? "no catalog device (it was fitted without --device)"
                              : profile.device) +
                         ", but the cluster's device is " + device +
                         "; use a profile fitted with --device " + device);
  }
  // A dtype the profile has no GEMM fit for is timed from the catalog (make_compute_model says
  // so in the report); one it has must not run above the datasheet.
  const Dtype dtype = scenario.job.training.dtype;
  if (const auto gemm = profile.gemm.find(dtype);
      gemm != profile.gemm.end() && scenario.cluster.device.supports(dtype)) {
    const double sustained =
        profile.sustained_gemm_fraction ? profile.sustained_gemm_fraction->value : 1.0;
    const double highest = gemm->second.highest_flops_per_s() * sustained;
    const double datasheet = scenario.cluster.device.peak_flops(dtype);
    if (highest > datasheet) {
      mismatches.push_back(fmt::format(
          "the profile {} runs {} GEMMs at up to {:.4g} FLOP/s ({:.3g} times the {} datasheet "
          "peak of {:.4g}): an efficiency above 1, which no measurement gives; refit it with "
          "calibrate fit --device {}{}",
          profile_name, to_string(dtype), highest, highest / datasheet, device, datasheet, device,
          sustained > 1 ? fmt::format(" or lower its sustained_gemm_fraction ({})", sustained)
                        : ""));
    }
  }
  return mismatches;
}

void use_calibration(Scenario& scenario, const Profile& profile, const std::string& profile_name,
                     const SourceLocation& option) {
  std::vector<Diagnostic> mismatches;
  for (const std::string& m : calibration_mismatches(scenario, profile, profile_name))
    mismatches.push_back({option, "--calibration", m});
  if (!mismatches.empty())
    throw InputError(std::move(mismatches));
  scenario.profile = profile;
  scenario.calibration = profile_name;
}

Scenario load_scenario(const std::filesystem::path& path, const Catalog& catalog, ScenarioUse use) {
  return parse_scenario(read_input_file(path), path.string(), catalog, use);
}

}  // namespace scaleplan
