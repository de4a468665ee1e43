#include "hardware/io/catalog.hpp"

#include "hardware/io/figure_input.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace scaleplan {

extern const char* const builtin_catalog_yaml;

namespace {

bool is_power_of_two(double value) {
  const auto whole = static_cast<std::int64_t>(value);
  return static_cast<double>(whole) == value && whole > 0 && (whole & (whole - 1)) == 0;
}

// compute_efficiency_by_dtype: {DTYPE: FIGURE, ...}, each a dtype the device has a peak for.
void read_efficiency_by_dtype(MapReader& map, DeviceSpec& d) {
  if (!map.has("compute_efficiency_by_dtype")) {
    map.accept("compute_efficiency_by_dtype");
    return;
  }
  MapReader by_dtype = map.child("compute_efficiency_by_dtype");
  for (const auto& [dtype, name] : dtype_names.entries()) {
    auto f = read_figure(by_dtype, name, false, physical::efficiency);
    if (!f)
      continue;
    if (!d.peak_flops_per_s.empty() && !d.supports(dtype)) {
      std::vector<std::string> have;
      for (const auto& [known, figure] : d.peak_flops_per_s)
        have.emplace_back(to_string(known));
      by_dtype.error(name, fmt::format("the device has no {} peak; use one of its dtypes: {}", name,
                                       join_alternatives(have)));
      continue;
    }
    d.compute_efficiency_by_dtype[dtype] = *f;
  }
  by_dtype.finish();
}

// attention_efficiency and attention_half_efficiency_keys for cuDNN's fused attention, and the
// same keys ending in _flash_attention_2 or _flash_attention_triton for those libraries' kernels.
void read_attention_figures(MapReader& map, DeviceSpec& d) {
  for (const auto& [library, name] : attention_library_names.entries()) {
    std::string suffix;
    if (library != AttentionLibrary::cudnn) {
      suffix = "_" + std::string(name);
      std::replace(suffix.begin(), suffix.end(), '-', '_');
    }
    const std::string efficiency_key = "attention_efficiency" + suffix;
    const std::string half_key = "attention_half_efficiency_keys" + suffix;
    auto efficiency = read_figure(map, efficiency_key, false, physical::efficiency);
    auto half = read_figure(map, half_key, false, physical::sequence_length);
    if (half && !efficiency) {
      map.error(half_key, "the length at half the efficiency needs " + efficiency_key +
                              " beside it (the efficiency on long sequences)");
    }
    if (efficiency)
      d.attention[library] = AttentionFigures{*efficiency, half};
  }
}

// gemm_tiling: {sm_count, max_tile_m, max_tile_n, min_tile}, all four, the tile sides powers of
// two with min_tile at most the smaller of the largest tile's sides; collective_kernel_sms, if
// given, fewer than sm_count.
void read_gemm_tiling(MapReader& map, DeviceSpec& d) {
  if (!map.has("gemm_tiling")) {
    map.accept("gemm_tiling");
    return;
  }
  MapReader tiling = map.child("gemm_tiling");
  auto sm_count = read_figure(tiling, "sm_count", true, physical::processor_count);
  auto max_m = read_figure(tiling, "max_tile_m", true, physical::tile_side);
  auto max_n = read_figure(tiling, "max_tile_n", true, physical::tile_side);
  auto min_tile = read_figure(tiling, "min_tile", true, physical::tile_side);
  auto collective_sms =
      read_figure(tiling, "collective_kernel_sms", false, physical::processor_count);
  bool valid = sm_count && max_m && max_n && min_tile;
  bool whole = true;
  for (auto [key, figure] :
       {std::pair{"sm_count", &sm_count}, std::pair{"collective_kernel_sms", &collective_sms}}) {
    if (*figure &&
        (*figure)->value != static_cast<double>(static_cast<std::int64_t>((*figure)->value))) {
      tiling.error(key,
                   fmt::format("must be a whole number of processors, got {}", (*figure)->value));
      valid = whole = false;
    }
  }
  if (whole && sm_count && collective_sms && !(collective_sms->value < sm_count->value)) {
    tiling.error("collective_kernel_sms", fmt::format("must be fewer than sm_count ({}), got {}",
                                                      sm_count->value, collective_sms->value));
    valid = false;
  }
  for (auto [key, figure] : {std::pair{"max_tile_m", &max_m}, std::pair{"max_tile_n", &max_n},
                             std::pair{"min_tile", &min_tile}}) {
    if (*figure && !is_power_of_two((*figure)->value)) {
      tiling.error(
          key, fmt::format("must be a power of two (64, 128, 256, ...), got {}", (*figure)->value));
      valid = false;
    }
  }
  if (valid && min_tile->value > std::min(max_m->value, max_n->value)) {
    tiling.error("min_tile",
                 fmt::format("must be at most the largest tile's sides ({} x {}), got {}",
                             max_m->value, max_n->value, min_tile->value));
    valid = false;
  }
  tiling.finish();
  if (valid)
    d.gemm_tiling = GemmTiling{*sm_count, *max_m, *max_n, *min_tile, collective_sms};
}

DeviceSpec read_device(MapReader& map) {
  DeviceSpec d;
  if (map.require("name"))
    d.name = map.string("name").value_or("");
  if (map.require("kind")) {
    if (auto kind = map.enumeration("kind", device_kind_names))
      d.kind = *kind;
  }
  d.vendor = map.string("vendor").value_or("");
  MapReader peaks = map.child("peak_flops_per_s");
  if (!map.has("peak_flops_per_s"))
    map.require("peak_flops_per_s");
  for (const auto& [dtype, name] : dtype_names.entries()) {
    if (auto f = read_figure(peaks, name, false, physical::flops_per_s))
      d.peak_flops_per_s[dtype] = *f;
  }
  peaks.finish();
  if (map.has("peak_flops_per_s") && d.peak_flops_per_s.empty() && peaks.diagnostics().empty()) {
    // A device without any peak cannot run a kernel; found here rather than as a scenario whose
    // dtype "is not one of" an empty list.
    map.error("peak_flops_per_s",
              "needs the peak of at least one dtype: " + join_alternatives(dtype_names.names()));
  }
  auto assign = [&](std::string_view key, NumberRange range, Figure& out) {
    if (auto f = read_figure(map, key, true, range))
      out = *f;
  };
  assign("memory_bytes", physical::memory_bytes, d.memory_bytes);
  assign("memory_bandwidth_bytes_per_s", physical::bytes_per_s, d.memory_bandwidth_bytes_per_s);
  assign("intra_node_link_bandwidth_bytes_per_s", physical::bytes_per_s,
         d.intra_node_link_bandwidth_bytes_per_s);
  assign("host_link_bandwidth_bytes_per_s", physical::bytes_per_s,
         d.host_link_bandwidth_bytes_per_s);
  assign("intra_node_link_latency_s", physical::latency_s, d.intra_node_link_latency_s);
  d.intra_node_link_count = read_figure(map, "intra_node_link_count", false, physical::link_count);
  d.on_chip_nic_bandwidth_bytes_per_s =
      read_figure(map, "on_chip_nic_bandwidth_bytes_per_s", false, physical::bytes_per_s);
  d.dcn_bandwidth_per_host_bytes_per_s =
      read_figure(map, "dcn_bandwidth_per_host_bytes_per_s", false, physical::bytes_per_s);
  assign("power_w", physical::power_w, d.power_w);
  d.price_usd_per_hour = read_figure(map, "price_usd_per_hour", false, physical::usd_per_hour);
  d.purchase_price_usd = read_figure(map, "purchase_price_usd", false, physical::usd_purchase);
  assign("compute_efficiency", physical::efficiency, d.compute_efficiency);
  read_efficiency_by_dtype(map, d);
  d.gemm_half_efficiency_flops =
      read_figure(map, "gemm_half_efficiency_flops", false, physical::gemm_flops);
  read_gemm_tiling(map, d);
  read_attention_figures(map, d);
  d.sustained_share = read_figure(map, "sustained_share", false, physical::efficiency);
  d.intra_node_link_efficiency =
      read_figure(map, "intra_node_link_efficiency", false, physical::efficiency);
  assign("memory_efficiency", physical::efficiency, d.memory_efficiency);
  assign("kernel_launch_overhead_s", physical::latency_s, d.kernel_launch_overhead_s);
  assign("collective_step_latency_s", physical::latency_s, d.collective_step_latency_s);
  map.finish();
  return d;
}

}  // namespace

void Catalog::read(std::string_view yaml_text, const std::string& file_label, bool extending,
                   std::vector<std::string>& replaced) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  Diagnostics diagnostics(file_label);
  MapReader top(root, "", diagnostics);

  // Extending, a figure the file leaves out keeps the base catalog's.
  const bool defaults_required = !extending;
  MapReader defaults = top.child("network_defaults");
  if (!top.has("network_defaults") && defaults_required)
    top.require("network_defaults");
  NetworkDefaults& net = network_defaults_;
  if (auto f = read_figure(defaults, "switch_latency_s", defaults_required, physical::latency_s))
    net.switch_latency_s = *f;
  if (auto f = read_figure(defaults, "nic_latency_s", defaults_required, physical::latency_s))
    net.nic_latency_s = *f;
  if (auto f =
          read_figure(defaults, "cross_socket_bandwidth_bytes_per_s", false, physical::bytes_per_s))
    net.cross_socket_bandwidth_bytes_per_s = f;
  else if (!extending)
    net.cross_socket_bandwidth_bytes_per_s.reset();
  if (auto f = read_figure(defaults, "nic_bandwidth_efficiency", false, physical::efficiency))
    net.nic_bandwidth_efficiency = f;
  else if (!extending)
    net.nic_bandwidth_efficiency.reset();
  defaults.accept("inter_node_link_latency_s");
  defaults.finish();

  if (!top.has("devices"))
    top.require("devices");
  const auto items = top.sequence("devices");
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    MapReader device(items[i], "devices[" + std::to_string(i) + "]", diagnostics);
    DeviceSpec spec = read_device(device);
    if (!spec.name.empty() && std::find(seen.begin(), seen.end(), spec.name) != seen.end()) {
      device.error("name", fmt::format("'{}' appears twice in the catalog", spec.name));
    }
    seen.push_back(spec.name);
    auto same = std::find_if(devices_.begin(), devices_.end(),
                             [&](const DeviceSpec& d) { return d.name == spec.name; });
    if (extending && !spec.name.empty() && same != devices_.end()) {
      replaced.push_back(spec.name);
      *same = std::move(spec);
    } else {
      devices_.push_back(std::move(spec));
    }
  }
  top.finish();
  diagnostics.throw_if_any();
}

Catalog Catalog::parse(std::string_view yaml_text, const std::string& file_label) {
  Catalog catalog;
  std::vector<std::string> replaced;
  catalog.read(yaml_text, file_label, false, replaced);
  return catalog;
}

Catalog Catalog::load(const std::filesystem::path& path) {
  return parse(read_input_file(path), path.string());
}

ExtendedCatalog Catalog::extended_by(std::string_view yaml_text,
                                     const std::string& file_label) const {
  ExtendedCatalog out{*this, {}};
  out.catalog.read(yaml_text, file_label, true, out.replaced);
  return out;
}

ExtendedCatalog Catalog::extended_by_file(const std::filesystem::path& path) const {
  return extended_by(read_input_file(path), path.string());
}

const Catalog& Catalog::builtin() {
  static const Catalog catalog = parse(builtin_catalog_yaml, "hardware/catalog.yaml");
  return catalog;
}

const DeviceSpec* Catalog::find(std::string_view name) const {
  auto it = std::find_if(devices_.begin(), devices_.end(),
                         [&](const DeviceSpec& d) { return d.name == name; });
  return it == devices_.end() ? nullptr : &*it;
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> names;
  for (const auto& d : devices_)
    names.push_back(d.name);
  return names;
}

std::string unknown_device_message(const Catalog& catalog, std::string_view name) {
  std::string message = fmt::format("'{}' is not in the device catalog", name);
  if (auto near = closest_match(name, catalog.names()))
    return message + fmt::format("; did you mean '{}'?", *near);
  // A short name people say ("H100", "tpu-v4") is part of the catalog's longer ones.
  const auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::vector<std::string> containing;
  for (const std::string& known : catalog.names()) {
    if (!name.empty() && lower(known).find(lower(name)) != std::string::npos)
      containing.push_back(known);
  }
  if (!containing.empty())
    return message + "; did you mean " + join_alternatives(containing) + "?";
  return message + "; known devices: " + join_alternatives(catalog.names());
}

}  // namespace scaleplan
