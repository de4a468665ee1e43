#include "sim/scenario/scenario.hpp"

#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "hardware/io/profile_io.hpp"
#include "sim/scenario/scenario_network.hpp"
#include "sim/strategy/plan_size.hpp"
#include "sim/strategy/schedule.hpp"

namespace scaleplan {

namespace {

std::string join_numbers(const std::vector<std::int64_t>& values) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0)
      text += ", ";
    text += std::to_string(values[i]);
  }
  return text;
}

// Divisors of n up to `limit`, for "use one of ..." hints.
std::vector<std::int64_t> divisors(std::int64_t n, std::int64_t limit = 1 << 20) {
  std::vector<std::int64_t> result;
  for (std::int64_t d = 1; d <= n && d <= limit && result.size() < 12; ++d) {
    if (n % d == 0)
      result.push_back(d);
  }
  return result;
}

// a·b·..., or INT64_MAX when that would overflow.
std::int64_t saturating_product(std::initializer_list<std::int64_t> factors) {
  std::int64_t product = 1;
  for (std::int64_t f : factors) {
    if (__builtin_mul_overflow(product, f, &product))
      return std::numeric_limits<std::int64_t>::max();
  }
  return product;
}

std::string product_text(std::int64_t product) {
  return product == std::numeric_limits<std::int64_t>::max() ? std::string("more than 2^63")
                                                             : std::to_string(product);
}

// An integer key that `if_absent` stands for when absent (a preset's value or a default); without
// one the key is required.
std::optional<std::int64_t> integer_or(MapReader& map, std::string_view key, std::int64_t low,
                                       std::int64_t high, std::optional<std::int64_t> if_absent) {
  return if_absent ? map.integer(key, low, high, *if_absent)
                   : map.integer(key, low, high, required_key);
}

void read_cluster(MapReader& top, const Catalog& catalog, Scenario& s) {
  if (!top.require("cluster"))
    return;
  MapReader c = top.child("cluster");
  s.locations["cluster"] = top.location("cluster");
  s.locations["cluster.network"] =
      c.has("network") ? c.location("network") : top.location("cluster");
  if (c.require("device")) {
    if (auto name = c.string("device")) {
      if (const DeviceSpec* device = catalog.find(*name)) {
        s.cluster.device = *device;
      } else {
        std::string message = fmt::format("'{}' is not in the device catalog", *name);
        if (auto near = closest_match(*name, catalog.names())) {
          message += fmt::format("; did you mean '{}'?", *near);
        } else {
          message += "; known devices: " + join_alternatives(catalog.names());
        }
        c.error("device", message);
      }
    }
  }
  const auto nodes = c.integer("nodes", 1, max_devices, required_key);
  const auto per_node = c.integer("devices_per_node", 1, 1024, required_key);
  if (nodes && per_node) {
    if (*nodes * *per_node > max_devices) {
      c.error("nodes", fmt::format("{} nodes of {} devices is {} devices; scaleplan simulates at "
                                   "most {}",
                                   *nodes, *per_node, *nodes * *per_node, max_devices));
    } else {
      s.cluster.nodes = static_cast<int>(*nodes);
      s.cluster.devices_per_node = static_cast<int>(*per_node);
    }
  }
  if (auto fabric = c.enumeration("node_fabric", node_fabric_names))
    s.cluster.node_fabric = *fabric;

  read_network(c, catalog, s.cluster);
  c.finish();
}

// model.moe: the preset's values (if it has experts) or the defaults below stand for keys left out.
void read_moe(MapReader& m, TransformerConfig& model) {
  if (!m.has("moe")) {
    m.accept("moe");
    if (model.is_moe() && model.moe.dense_layers >= model.layers) {
      m.error("layers", fmt::format("the preset's first {} layers are dense, which leaves none of "
                                    "{} with experts; use more layers or set moe.dense_layers",
                                    model.moe.dense_layers, model.layers));
    }
    return;
  }
  MapReader e = m.child("moe");
  MoeConfig& moe = model.moe;
  const bool preset = moe.experts > 0;
  auto integer = [&](std::string_view key, std::int64_t& field, std::int64_t low, std::int64_t high,
                     std::optional<std::int64_t> fallback) {
    if (auto v = integer_or(e, key, low, high, preset ? field : fallback))
      field = *v;
  };
  integer("experts", moe.experts, 1, max_dimension, std::nullopt);
  integer("top_k", moe.top_k, 1, max_dimension, std::nullopt);
  integer("shared_experts", moe.shared_experts, 0, max_dimension, 0);
  integer("expert_ffn_hidden", moe.expert_ffn_hidden, 1, 16 * max_dimension, model.ffn_hidden);
  integer("dense_layers", moe.dense_layers, 0, max_layers, 0);
  if (auto v = e.number("capacity_factor", NumberRange::positive(64),
                        preset ? moe.capacity_factor : 1.0)) {
    moe.capacity_factor = *v;
  }
  // Checked only when every value above was read: one that was not still holds its default.
  const bool values_read = e.diagnostics().empty();
  if (values_read && moe.top_k > moe.experts) {
    e.error("top_k", fmt::format("{} experts per token, but the layer has {}; use at most {}",
                                 moe.top_k, moe.experts, moe.experts));
  }
  if (values_read && moe.dense_layers >= model.layers) {
    e.error("dense_layers", fmt::format("{} dense layers leave none of the {} layers with "
                                        "experts; use fewer than {}",
                                        moe.dense_layers, model.layers, model.layers));
  }
  e.finish();
}

// model.mla: multi-head latent attention; the preset's values stand for keys left out.
void read_latent_attention(MapReader& m, TransformerConfig& model) {
  if (!m.has("mla")) {
    m.accept("mla");
    return;
  }
  MapReader a = m.child("mla");
  LatentAttentionConfig& mla = model.mla;
  const bool preset = model.latent_attention();
  auto integer = [&](std::string_view key, std::int64_t& field, std::int64_t low,
                     std::optional<std::int64_t> fallback) {
    if (auto v = integer_or(a, key, low, max_dimension, preset ? field : fallback))
      field = *v;
  };
  integer("q_lora_rank", mla.q_lora_rank, 0, 0);
  integer("kv_lora_rank", mla.kv_lora_rank, 1, std::nullopt);
  integer("qk_nope_head_dim", mla.qk_nope_head_dim, 1, std::nullopt);
  integer("qk_rope_head_dim", mla.qk_rope_head_dim, 0, 0);
  integer("v_head_dim", mla.v_head_dim, 1, std::nullopt);
  a.finish();
}

void read_model(MapReader& top, Scenario& s) {
  if (!top.require("model"))
    return;
  MapReader m = top.child("model");
  TransformerConfig& model = s.job.model;
  if (m.has("preset")) {
    if (auto preset_name = m.choice("preset", transformer_preset_names()))
      model = *transformer_preset(*preset_name);
  }
  const bool preset = m.has("preset");
  if (auto attention = m.choice("attention", {"flash", "materialized"}))
    model.flash_attention = *attention == "flash";
  if (auto causal = m.boolean("causal"))
    model.causal = *causal;
  if (auto family = m.choice("family", {"gpt", "llama"})) {
    const bool llama = *family == "llama";
    model.gated_mlp = llama;
    model.biases = !llama;
    model.learned_positions = !llama;
    model.tied_embeddings = !llama;
    model.norm_parameters_per_hidden = llama ? 1 : 2;
  }
  auto dimension = [&](std::string_view key, std::int64_t& field, std::int64_t high,
                       std::optional<std::int64_t> fallback) {
    if (auto v =
            integer_or(m, key, 1, high, preset ? std::optional<std::int64_t>(field) : fallback))
      field = *v;
  };
  dimension("layers", model.layers, max_layers, std::nullopt);
  dimension("hidden", model.hidden, max_dimension, std::nullopt);
  dimension("heads", model.heads, max_dimension, std::nullopt);
  if (model.hidden <= 0 || model.heads <= 0) {
    for (const char* key : {"ffn_hidden", "kv_heads", "vocab", "seq_len", "moe", "mla"})
      m.accept(key);
    m.finish();
    return;
  }
  dimension("ffn_hidden", model.ffn_hidden, 16 * max_dimension,
            preset ? std::nullopt : std::optional<std::int64_t>(4 * model.hidden));
  dimension("kv_heads", model.kv_heads, max_dimension,
            preset ? std::nullopt : std::optional<std::int64_t>(model.heads));
  dimension("vocab", model.vocab, 16 * max_dimension, std::nullopt);
  dimension("seq_len", model.seq_len, max_sequence, std::nullopt);
  if (model.hidden % model.heads != 0) {
    m.error("heads", fmt::format("{} heads do not divide hidden ({}); use one of {}", model.heads,
                                 model.hidden, fmt::join(divisors(model.hidden), ", ")));
  }
  if (model.kv_heads > 0 && model.heads % model.kv_heads != 0) {
    m.error("kv_heads", fmt::format("{} does not divide heads ({}); use one of {}", model.kv_heads,
                                    model.heads, fmt::join(divisors(model.heads), ", ")));
  }
  read_moe(m, model);
  read_latent_attention(m, model);
  if (model.name.empty())
    model.name = s.name;
  m.finish();
}

void read_training(MapReader& top, Scenario& s) {
  if (!top.require("training"))
    return;
  MapReader t = top.child("training");
  TrainingSpec& training = s.job.training;
  if (auto v = t.integer("global_batch", 1, max_global_batch, required_key))
    training.global_batch = *v;
  if (auto v = t.integer("micro_batch", 1, max_global_batch, 1))
    training.micro_batch = *v;
  if (auto dtype = t.enumeration("dtype", dtype_names))
    training.dtype = *dtype;
  t.finish();
}

void read_parallelism(MapReader& top, Scenario& s) {
  MapReader p = top.child("parallelism");
  ParallelismSpec& par = s.job.parallelism;
  auto degree = [&](std::string_view key, int& field) {
    if (auto v = p.integer(key, 1, max_devices, 1))
      field = static_cast<int>(*v);
  };
  degree("tp", par.tp);
  degree("pp", par.pp);
  degree("cp", par.cp);
  degree("ep", par.ep);
  const bool dp_given = p.has("dp");
  if (dp_given)
    degree("dp", par.dp);
  if (auto schedule = p.enumeration("schedule", pipeline_schedule_names))
    par.schedule = *schedule;
  if (auto v = p.integer("virtual_stages", 1, max_layers, 1))
    par.virtual_stages = static_cast<int>(*v);
  if (auto v = p.integer("zero", 0, 3, 0))
    par.zero = static_cast<int>(*v);
  if (auto recompute = p.enumeration("recompute", recompute_names))
    par.recompute = *recompute;
  if (auto v = p.boolean("sequence_parallel"))
    par.sequence_parallel = *v;
  if (auto v = p.boolean("overlap_grad_reduce"))
    par.overlap_grad_reduce = *v;
  if (auto v = p.number("grad_bucket_mb", NumberRange::positive(1e6)))
    par.grad_bucket_bytes = *v * 1e6;
  // The rules below relate values of every section; one that was not read still holds its
  // default, so they wait until everything before them has been read without an error.
  if (!p.diagnostics().empty()) {
    p.finish();
    return;
  }
  bool ok = true;

  // Consistency with the cluster and the model. Each degree is at most max_devices (2^15), so
  // the product of four would overflow int64; it saturates instead (only compared and printed).
  const std::int64_t devices = s.cluster.device_count();
  const std::int64_t model_parallel = saturating_product({par.tp, par.pp, par.cp});
  const std::int64_t requested_world = saturating_product({model_parallel, par.dp});
  const bool dp_fits = dp_given ? requested_world == devices : devices % model_parallel == 0;
  if (!dp_given) {
    if (devices % model_parallel != 0) {
      p.error("tp", "tp·pp·cp = " + std::to_string(model_parallel) + " does not divide the " +
                        std::to_string(devices) + " devices, so no data-parallel degree fits");
      ok = false;
    } else {
      par.dp = static_cast<int>(devices / model_parallel);
    }
  } else if (requested_world != devices) {
    p.error("dp", "tp·pp·cp·dp = " + std::to_string(par.tp) + "·" + std::to_string(par.pp) + "·" +
                      std::to_string(par.cp) + "·" + std::to_string(par.dp) + " = " +
                      product_text(requested_world) + ", but the cluster has " +
                      std::to_string(devices) + " devices (" + std::to_string(s.cluster.nodes) +
                      " nodes × " + std::to_string(s.cluster.devices_per_node) + ")" +
                      (devices % model_parallel == 0
                           ? "; use dp: " + std::to_string(devices / model_parallel)
                           : std::string()));
    ok = false;
  }
  const TransformerConfig& m = s.job.model;
  auto must_divide = [&](std::string_view key, std::int64_t parallel_degree, std::int64_t value,
                         const std::string& what) {
    if (value % parallel_degree == 0)
      return;
    std::vector<std::int64_t> options;
    for (std::int64_t d : divisors(value, 4096))
      options.push_back(d);
    p.error(key, std::to_string(parallel_degree) + " does not divide " + what + " (" +
                     std::to_string(value) + "); use one of " + join_numbers(options));
    ok = false;
  };
  must_divide("tp", par.tp, m.heads, "heads");
  if (m.kv_heads % par.tp != 0 && par.tp % m.kv_heads != 0) {
    p.error("tp", std::to_string(par.tp) + " neither divides nor is a multiple of kv_heads (" +
                      std::to_string(m.kv_heads) + ")");
    ok = false;
  }
  must_divide("tp", par.tp, m.ffn_hidden, "ffn_hidden");
  must_divide("cp", par.cp, m.seq_len, "seq_len");
  // Expert parallelism (Megatron-LM): the expert-parallel ranks are data-parallel ranks, each
  // holding experts/ep of the routed experts, split over tp as the dense FFN is; Megatron-LM
  // needs sequence parallelism for MoE with tp > 1.
  if (m.is_moe()) {
    must_divide("ep", par.ep, m.moe.experts, "moe.experts");
    must_divide("tp", par.tp, m.moe.expert_ffn_hidden, "moe.expert_ffn_hidden");
    if (par.tp > 1 && !par.sequence_parallel) {
      p.error(p.has("sequence_parallel") ? "sequence_parallel" : "tp",
              "MoE layers with tp > 1 need sequence parallelism (as in Megatron-LM); set "
              "sequence_parallel: true or tp: 1");
      ok = false;
    }
    if (par.zero >= 3) {
      p.error("zero", "ZeRO-3 is not modelled for MoE models; use zero 0, 1 or 2");
      ok = false;
    }
  } else if (par.ep > 1) {
    p.error("ep",
            "expert parallelism needs a model with MoE layers (model.moe, or a preset "
            "such as mixtral-8x7b); use ep: 1");
    ok = false;
  }
  if (dp_fits && par.dp % par.ep != 0) {
    p.error("ep", std::to_string(par.ep) + " does not divide dp (" + std::to_string(par.dp) +
                      "): expert-parallel ranks are carved out of the data-parallel ranks; use "
                      "one of " +
                      join_numbers(divisors(par.dp)));
    ok = false;
  }
  must_divide("tp", par.tp, m.vocab, "vocab (pad the vocabulary to a multiple of tp)");
  const int chunks = par.schedule == PipelineSchedule::interleaved_1f1b ? par.virtual_stages : 1;
  if (par.schedule != PipelineSchedule::interleaved_1f1b && par.virtual_stages != 1) {
    p.error("virtual_stages",
            "only the interleaved-1f1b schedule uses virtual stages; set "
            "schedule: interleaved-1f1b or virtual_stages: 1");
    ok = false;
  }
  if (chunks > 1 && par.pp == 1) {
    // One rank would hold every virtual stage and send activations to itself (found by the
    // scenario fuzzer: the plan then fails validation).
    p.error("virtual_stages",
            "virtual stages interleave the layers of several pipeline stages; "
            "with pp: 1 use virtual_stages: 1 (or pp of 2 or more)");
    ok = false;
  }
  if (m.layers < std::int64_t{par.pp} * chunks) {
    p.error(chunks > 1 ? "virtual_stages" : "pp",
            "pp·virtual_stages = " + std::to_string(std::int64_t{par.pp} * chunks) +
                " model chunks need at least one layer each, but the model has " +
                std::to_string(m.layers) + "; use pp·virtual_stages of at most " +
                std::to_string(m.layers));
    ok = false;
  }

  if (ok) {
    const auto& t = s.job.training;
    if (t.global_batch % (t.micro_batch * par.dp) != 0) {
      p.error("dp", "global_batch (" + std::to_string(t.global_batch) +
                        ") is not a multiple of micro_batch·dp (" + std::to_string(t.micro_batch) +
                        "·" + std::to_string(par.dp) + ")");
      ok = false;
    } else {
      const std::int64_t microbatches = t.global_batch / (t.micro_batch * par.dp);
      if (microbatches > max_microbatches) {
        p.error("dp", std::to_string(microbatches) +
                          " micro-batches per pipeline per step is beyond the limit of " +
                          std::to_string(max_microbatches) + "; raise micro_batch");
        ok = false;
      } else if (par.schedule == PipelineSchedule::interleaved_1f1b && microbatches % par.pp != 0) {
        p.error("schedule", "interleaved-1f1b needs the micro-batches per pipeline (" +
                                std::to_string(microbatches) + ") to be a multiple of pp (" +
                                std::to_string(par.pp) + ")");
        ok = false;
      }
    }
  }
  if (ok) {
    // Refused here, with the keys that drive it, rather than as an exhausted memory or an
    // hours-long run later (sim/plan_size.hpp, docs/reliability.md).
    const std::int64_t ops = estimated_plan_ops(s.job);
    if (ops > max_plan_ops) {
      p.error("dp", "this job's plan would hold about " + product_text(ops) + " ops (" +
                        std::to_string(devices) + " ranks × " +
                        std::to_string(microbatches_per_replica(s.job)) + " micro-batches × " +
                        std::to_string(s.job.model.layers / par.pp) +
                        " layers per stage), beyond the limit of " + std::to_string(max_plan_ops) +
                        "; raise training.micro_batch, lower training.global_batch, or use fewer "
                        "cluster.nodes or model.layers");
      ok = false;
    }
  }
  if (!s.cluster.device.name.empty() && !s.cluster.device.supports(s.job.training.dtype)) {
    std::string have;
    for (const auto& [d, f] : s.cluster.device.peak_flops_per_s) {
      have += (have.empty() ? "" : ", ") + std::string(to_string(d));
    }
    top.child("training")
        .error("dtype", s.cluster.device.name + " has no " +
                            std::string(to_string(s.job.training.dtype)) +
                            " peak in the catalog; use one of " + have);
    ok = false;
  }
  p.finish();
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
  // A share of the caching allocator's reserved memory.
  if (auto v = m.number("allocator_headroom_fraction", NumberRange::below(0, 1)))
    s.allocator_headroom_fraction = *v;
  m.finish();
}

}  // namespace

Scenario parse_scenario(std::string_view yaml_text, const std::string& file_label,
                        const Catalog& catalog) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
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
  read_training(top, s);
  read_parallelism(top, s);
  if (top.has("calibration"))
    read_calibration(top, file_label, s);
  read_memory(top, s);
  if (top.has("measured")) {
    MapReader m = top.child("measured");
    Measured measured;
    if (auto v = m.number("step_time_s", NumberRange::positive(1e9), required_key))
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
  if (!device.empty() && profile.device != device) {
    mismatches.push_back("the profile " + profile_name + " refines " + profile.device +
                         ", but the cluster's device is " + device +
                         "; use a profile fitted with --device " + device);
  }
  const Dtype dtype = scenario.job.training.dtype;
  if (!profile.gemm.count(dtype)) {
    std::string have;
    for (const auto& [d, g] : profile.gemm)
      have += (have.empty() ? "" : ", ") + std::string(to_string(d));
    mismatches.push_back("the profile " + profile_name + " has no " +
                         std::string(to_string(dtype)) + " GEMM fit for training.dtype" +
                         (have.empty() ? std::string() : "; it has " + have));
  }
  return mismatches;
}

Scenario load_scenario(const std::filesystem::path& path, const Catalog& catalog) {
  return parse_scenario(read_input_file(path), path.string(), catalog);
}

}  // namespace scaleplan
