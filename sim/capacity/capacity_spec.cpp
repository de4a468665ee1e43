#include "sim/capacity/capacity_spec.hpp"

#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_sections.hpp"

namespace scaleplan::capacity {

const Figure& default_checkpoint_write_bytes_per_s() {
  static const Figure f{2e12,
                        "Llama 3 herd paper (arXiv:2407.21783), section 3.3.1: Meta's Tectonic "
                        "file system for the 16K-GPU run sustains 2 TB/s (7 TB/s peak)"};
  return f;
}

const Figure& default_checkpoint_read_bytes_per_s() {
  static const Figure f{2e12,
                        "Llama 3 herd paper (arXiv:2407.21783), section 3.3.1: Tectonic's "
                        "sustained 2 TB/s, taken for reads as for writes"};
  return f;
}

const Figure& default_restart_s() {
  static const Figure f{
      600,
      "assumption: detecting the failure, re-scheduling the job and re-initialising the "
      "framework and its communicators takes minutes; systems built for it report 150 s on "
      "4,800 devices (FlashRecovery, arXiv:2509.03047) and about 20 s with standby machines "
      "(TrainMover, arXiv:2412.12636); 10 minutes taken for a plain re-launch"};
  return f;
}

const Figure& default_pue() {
  static const Figure f{1.58,
                        "Uptime Institute Global Data Center Survey 2023: average annual power "
                        "usage effectiveness 1.58 (hyperscale AI halls run nearer 1.1-1.2)"};
  return f;
}

const Figure& default_usd_per_kwh() {
  static const Figure f{0.080,
                        "US EIA Electric Power Monthly: average retail price of electricity to "
                        "industrial customers in 2023, about 8.0 cents per kWh"};
  return f;
}

const Figure& default_node_overhead_w() {
  static const Figure f{4600,
                        "NVIDIA DGX H100 datasheet: about 10.2 kW system power maximum, of which "
                        "the 8 GPUs draw 8 x 700 W; the remaining 4.6 kW is the node's CPUs, "
                        "NICs, NVSwitches, fans and drives"};
  return f;
}

namespace {

constexpr NumberRange gigabytes_per_s = NumberRange::positive(1e9);

// Sizes an option lists: one `nodes` value, or a list of them.
std::vector<YAML::Node> node_counts(MapReader& cluster) {
  if (!cluster.has("nodes"))
    return {YAML::Node()};
  const YAML::Node nodes = cluster.node()["nodes"];
  if (!nodes.IsSequence())
    return {nodes};
  auto items = cluster.sequence("nodes");
  if (items.empty())
    cluster.error("nodes", "lists no sizes; give one node count or a list of them");
  return items;
}

// Reads one size of an option's cluster on its own diagnostics, so that the problems every size
// shares are reported once. The size is set in the parsed tree itself (a copy would lose the
// places of the other keys, which errors name).
ClusterSpec read_size(YAML::Node cluster_node, const YAML::Node& nodes, const std::string& path,
                      const Catalog& catalog, Diagnostics& diagnostics,
                      std::set<std::string>& reported) {
  if (nodes.IsDefined())
    cluster_node["nodes"] = nodes;
  Diagnostics own(diagnostics.file());
  MapReader c(cluster_node, path, own);
  ClusterSpec cluster;
  read_cluster_section(c, catalog, cluster, ClusterSectionUse::capacity);
  try {
    own.throw_if_any();
  } catch (const InputError& e) {
    for (const Diagnostic& d : e.diagnostics()) {
      if (reported.insert(d.format()).second)
        diagnostics.error(d.where, d.key, d.message);
    }
  }
  return cluster;
}

// A price the section gives at `key` (within `range`), the catalog's figure where it gives none;
// absent when neither does, or the section's value is wrong (reported).
std::optional<Figure> price_of(MapReader& section, std::string_view key, NumberRange range,
                               const std::optional<Figure>& catalog_figure) {
  if (auto v = section.number(key, range))
    return Figure{*v, "spec: " + section.path_of(key)};
  if (section.has(key))
    return std::nullopt;
  return catalog_figure;
}

std::optional<RentPrice> read_rent(MapReader& option, const DeviceSpec& device) {
  if (!option.has("rent")) {
    option.accept("rent");
    return std::nullopt;
  }
  MapReader r = option.child("rent");
  RentPrice rent;
  if (auto price = price_of(r, "usd_per_device_hour", NumberRange::positive(1e6),
                            device.price_usd_per_hour)) {
    rent.usd_per_device_hour = *price;
  } else if (!r.has("usd_per_device_hour") && !device.name.empty()) {
    option.error("rent", fmt::format("{} has no price_usd_per_hour in the catalog; give "
                                     "rent.usd_per_device_hour",
                                     device.name));
  }
  r.finish();
  return rent;
}

std::optional<BuyPrice> read_buy(MapReader& option, const DeviceSpec& device) {
  if (!option.has("buy")) {
    option.accept("buy");
    return std::nullopt;
  }
  MapReader b = option.child("buy");
  BuyPrice buy;
  if (auto price = price_of(b, "usd_per_device", NumberRange::non_negative(1e9),
                            device.purchase_price_usd)) {
    buy.usd_per_device = *price;
  } else if (!b.has("usd_per_device") && !device.name.empty()) {
    option.error("buy", fmt::format("{} has no purchase_price_usd in the catalog (it is not "
                                    "sold, or no price is known); give buy.usd_per_device",
                                    device.name));
  }
  buy.usd_per_node =
      b.number("usd_per_node", NumberRange::non_negative(1e10), required_key).value_or(0);
  buy.usd_per_port =
      b.number("usd_per_port", NumberRange::non_negative(1e8), required_key).value_or(0);
  buy.life_years = b.number("life_years", NumberRange::positive(50), required_key).value_or(1);
  b.finish();
  return buy;
}

void read_option(MapReader& option, const CapacitySpec& spec, const Catalog& catalog,
                 std::set<std::string>& reported, std::vector<ClusterOption>& out) {
  Diagnostics& diagnostics = option.diagnostics();
  const std::size_t first = out.size();
  // A cluster that is not a map is reported by child(), which reads it as an empty one; reading
  // its keys would only add errors that follow from that one.
  const YAML::Node value = option.has("cluster") ? option.node()["cluster"] : YAML::Node();
  const bool not_a_map = !value.IsNull() && !value.IsMap();
  MapReader c = option.child("cluster");
  if (option.require("cluster") && !not_a_map) {
    const auto counts = node_counts(c);
    for (const YAML::Node& nodes : counts) {
      ClusterOption o;
      o.network_key = c.has("network") ? c.path_of("network") : option.path_of("cluster");
      o.network_location = c.has("network") ? c.location("network") : option.location("cluster");
      o.cluster =
          read_size(c.node(), nodes, option.path_of("cluster"), catalog, diagnostics, reported);
      out.push_back(std::move(o));
    }
    // Asked of the cluster as read, not of the YAML: yaml-cpp throws when asked the type of an
    // absent key's node.
    if (counts.size() > 1 && out[first].cluster.network.topology == NetworkTopologyKind::torus)
      c.error("nodes", "a torus fixes the device count with its dims; give one size per option");
    c.accept("nodes");
  }
  const std::string name = option.string("name").value_or("");
  const auto overhead = option.number("node_overhead_w", NumberRange::non_negative(1e7));
  const DeviceSpec device = out.size() > first ? out[first].cluster.device : DeviceSpec{};
  if (!device.name.empty() && !device.supports(spec.job.training.dtype)) {
    option.error("cluster", fmt::format("{} has no peak for training.dtype {}", device.name,
                                        to_string(spec.job.training.dtype)));
  }
  const auto rent = read_rent(option, device);
  const auto buy = read_buy(option, device);
  if (!rent && !buy)
    option.error("rent", "give rent, buy or both: how the cluster is paid for");
  for (std::size_t i = first; i < out.size(); ++i) {
    out[i].name = name.empty() ? out[i].cluster.device.name : name;
    out[i].rent = rent;
    out[i].buy = buy;
    out[i].node_overhead_w = overhead.value_or(default_node_overhead_w().value);
  }
  option.finish();
}

void read_training(MapReader& top, CapacitySpec& spec) {
  if (!top.require("training"))
    return;
  MapReader t = top.child("training");
  TrainingSpec& training = spec.job.training;
  if (auto v = t.integer("global_batch", 1, max_global_batch, required_key))
    training.global_batch = *v;
  if (auto dtype = t.enumeration("dtype", dtype_names))
    training.dtype = *dtype;
  const auto tokens = t.number("tokens", NumberRange::positive(1e18));
  const auto steps = t.integer("steps", 1, std::int64_t{1} << 40);
  if (t.has("tokens") == t.has("steps")) {
    t.error(t.has("tokens") ? "steps" : "tokens",
            "give exactly one of tokens (to train) and steps (of global_batch sequences)");
  }
  const double tokens_per_step =
      static_cast<double>(training.global_batch) * static_cast<double>(spec.job.model.seq_len);
  if (steps) {
    spec.steps = *steps;
  } else if (tokens && tokens_per_step > 0) {
    spec.steps = static_cast<std::int64_t>(std::ceil(*tokens / tokens_per_step));
  }
  spec.tokens = static_cast<double>(spec.steps) * tokens_per_step;
  t.finish();
}

void read_goodput(MapReader& top, CapacitySpec& spec) {
  MapReader f = top.child("failures");
  const FailureRates& llama3 = llama3_failure_rates();
  spec.failures = llama3;
  if (auto v = f.number("device_mtbf_hours", NumberRange::positive(1e9)))
    spec.failures.device_mtbf_h = {*v, "spec: failures.device_mtbf_hours"};
  if (auto v = f.number("node_mtbf_hours", NumberRange::positive(1e9)))
    spec.failures.node_mtbf_h = {*v, "spec: failures.node_mtbf_hours"};
  f.finish();

  MapReader c = top.child("checkpoint");
  spec.checkpoint.write_bytes_per_s =
      c.number("write_gb_per_s", gigabytes_per_s)
          .value_or(default_checkpoint_write_bytes_per_s().value / 1e9) *
      1e9;
  spec.checkpoint.read_bytes_per_s =
      c.number("read_gb_per_s", gigabytes_per_s)
          .value_or(default_checkpoint_read_bytes_per_s().value / 1e9) *
      1e9;
  spec.checkpoint.restart_s = c.number("restart_minutes", NumberRange::non_negative(1e6))
                                  .value_or(default_restart_s().value / 60) *
                              60;
  c.finish();

  MapReader d = top.child("data");
  spec.data.storage_read_bytes_per_s = d.number("storage_read_gb_per_s", gigabytes_per_s)
                                           .value_or(spec.checkpoint.read_bytes_per_s / 1e9) *
                                       1e9;
  // Token ids as stored: 16 bits hold a vocabulary of up to 65,536, 32 bits anything larger.
  const double ids = spec.job.model.vocab <= 65536 ? 2 : 4;
  spec.data.bytes_per_token = d.number("bytes_per_token", NumberRange::positive(1e6)).value_or(ids);
  spec.data.host_tokens_per_s_per_node =
      d.number("host_tokens_per_s_per_node", NumberRange::non_negative(1e15)).value_or(0);
  d.finish();
}

}  // namespace

CapacitySpec parse_capacity_spec(std::string_view yaml_text, const std::string& file_label,
                                 const Catalog& catalog) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  Diagnostics diagnostics(file_label);
  if (!root.IsMap()) {
    diagnostics.error(root, "",
                      "a capacity spec is a mapping with format, model, training and options");
    diagnostics.throw_if_any();
  }
  MapReader top(root, "", diagnostics);
  top.header("scaleplan-capacity/1", "capacity spec");
  CapacitySpec spec;
  spec.file = file_label;
  spec.name = top.string("name").value_or(std::filesystem::path(file_label).stem().string());
  top.accept("description");
  if (top.require("model")) {
    MapReader m = top.child("model");
    read_model_section(m, spec.job.model);
    if (spec.job.model.name.empty())
      spec.job.model.name = spec.name;
  }
  read_training(top, spec);
  if (auto days = top.number("deadline_days", NumberRange::positive(1e5)))
    spec.deadline_s = *days * 86400;
  spec.budget_usd = top.number("budget_usd", NumberRange::positive(1e15));
  read_goodput(top, spec);
  MapReader p = top.child("power");
  spec.pue = p.number("pue", NumberRange::closed(1, 5)).value_or(default_pue().value);
  spec.usd_per_kwh =
      p.number("usd_per_kwh", NumberRange::non_negative(100)).value_or(default_usd_per_kwh().value);
  p.finish();
  MapReader s = top.child("search");
  spec.top_k = static_cast<int>(s.integer("top_k", 1, 1000).value_or(spec.top_k));
  s.finish();

  std::set<std::string> reported;
  if (top.require("options")) {
    const auto items = top.sequence("options");
    if (items.empty() && top.node()["options"].IsSequence())
      top.error("options", "lists no clusters; give at least one");
    // A report row is named by its option and device count: two options giving the same row
    // (one name, or both defaulted to one device, at the same size) could not be told apart.
    std::map<std::pair<std::string, int>, std::size_t> option_of_row;
    for (std::size_t i = 0; i < items.size(); ++i) {
      MapReader option(items[i], "options[" + std::to_string(i) + "]", diagnostics);
      const std::size_t before = spec.options.size();
      read_option(option, spec, catalog, reported, spec.options);
      for (std::size_t o = before; o < spec.options.size(); ++o) {
        const ClusterOption& row = spec.options[o];
        const int devices = row.cluster.device_count();
        const auto [first, added] = option_of_row.emplace(std::pair{row.name, devices}, i);
        if (added || first->second == i)
          continue;
        option.error(option.has("name") ? "name" : "cluster",
                     fmt::format("options[{}] is also {} on {} devices; give the two options "
                                 "names of their own to tell their rows apart",
                                 first->second, row.name, devices));
        break;
      }
    }
  }
  top.finish();
  diagnostics.throw_if_any();
  return spec;
}

CapacitySpec load_capacity_spec(const std::filesystem::path& path, const Catalog& catalog) {
  return parse_capacity_spec(read_input_file(path), path.string(), catalog);
}

}  // namespace scaleplan::capacity
