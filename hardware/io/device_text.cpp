#include "hardware/io/device_text.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace scaleplan {

namespace {

constexpr double gib = 1024.0 * 1024 * 1024;

// "  memory bandwidth            3350.0 GB/s  [source]".
std::string line(std::string_view what, const std::string& value, const std::string& source) {
  return fmt::format("  {:<36} {:>16}  [{}]\n", what, value, source);
}

std::string line(std::string_view what, const std::string& value, const Figure& figure) {
  return line(what, value, figure.source);
}

std::string absent(std::string_view what) {
  return fmt::format("  {:<36} {:>16}\n", what, "none in the catalog");
}

std::string bytes_per_s(double value) {
  return fmt::format("{:.1f} GB/s", value / 1e9);
}

std::string microseconds(double seconds) {
  return fmt::format("{:.3g} us", seconds * 1e6);
}

std::string fraction(double value) {
  return fmt::format("{:.3g}", value);
}

// The bf16 peak, what training runs at; the highest one for a device without bf16.
std::string training_peak(const DeviceSpec& d) {
  const std::pair<const Dtype, Figure>* shown = nullptr;
  for (const auto& entry : d.peak_flops_per_s) {
    if (entry.first == Dtype::bf16)
      shown = &entry;
    else if (!shown || (shown->first != Dtype::bf16 && entry.second.value > shown->second.value))
      shown = &entry;
  }
  if (!shown)
    return "-";
  return fmt::format("{:.1f} TFLOP/s {}", shown->second.value / 1e12, to_string(shown->first));
}

}  // namespace

std::string format_device(const DeviceSpec& d, const NetworkDefaults& defaults) {
  std::string out = fmt::format("{}  ({}, {})\n", d.name, to_string(d.kind), d.vendor);
  out += "\npeak FLOP/s (dense)\n";
  for (const auto& [dtype, figure] : d.peak_flops_per_s)
    out += line(to_string(dtype), fmt::format("{:.1f} TFLOP/s", figure.value / 1e12), figure);

  out += "\nmemory\n";
  out += line("capacity", fmt::format("{:.2f} GiB", d.memory_bytes.value / gib), d.memory_bytes);
  out += line("bandwidth", bytes_per_s(d.memory_bandwidth_bytes_per_s.value),
              d.memory_bandwidth_bytes_per_s);
  out += line("streaming efficiency", fraction(d.memory_efficiency.value), d.memory_efficiency);

  out += "\ncompute\n";
  out += line("GEMM efficiency (large GEMMs)", fraction(d.compute_efficiency.value),
              d.compute_efficiency);
  if (const auto& f = d.gemm_half_efficiency_flops)
    out +=
        line("GEMM size at half that efficiency", fmt::format("{:.3g} GFLOP", f->value / 1e9), *f);
  else
    out += absent("GEMM size at half that efficiency");
  for (const auto& [dtype, figure] : d.compute_efficiency_by_dtype) {
    out +=
        line(fmt::format("GEMM efficiency, {}", to_string(dtype)), fraction(figure.value), figure);
  }
  for (const auto& [library, figures] : d.attention) {
    out += line("attention: " + std::string(to_string(library)), fraction(figures.efficiency.value),
                figures.efficiency);
    if (const auto& half = figures.half_efficiency_keys)
      out += line("  half of that at", fmt::format("{:.0f} keys", half->value), *half);
  }
  if (const auto& f = d.sustained_share)
    out += line("share of those sustained in steps", fraction(f->value), *f);
  if (const auto& t = d.gemm_tiling) {
    out +=
        line("GEMM tiles spread over", fmt::format("{:.0f} SMs", t->sm_count.value), t->sm_count);
    out += line("largest GEMM tile",
                fmt::format("{:.0f} x {:.0f}", t->max_tile_m.value, t->max_tile_n.value),
                t->max_tile_m);
    out += line("smallest GEMM tile side", fmt::format("{:.0f}", t->min_tile.value), t->min_tile);
    if (const auto& sms = t->collective_kernel_sms) {
      out += line("SMs a collective's kernel holds", fmt::format("{:.0f} SMs", sms->value), *sms);
    }
  } else {
    out += absent("GEMM tiles spread over");
  }
  out += line("kernel launch overhead", microseconds(d.kernel_launch_overhead_s.value),
              d.kernel_launch_overhead_s);

  out += "\nlinks inside a node (per device, per direction)\n";
  out += line("bandwidth", bytes_per_s(d.intra_node_link_bandwidth_bytes_per_s.value),
              d.intra_node_link_bandwidth_bytes_per_s);
  if (const auto& f = d.intra_node_link_efficiency)
    out += line("collective efficiency (nccl-tests)", fraction(f->value), *f);
  else
    out += absent("collective efficiency (nccl-tests)");
  if (const auto& f = d.intra_node_link_count)
    out += line("links", fmt::format("{:.0f}", f->value), *f);
  out +=
      line("latency", microseconds(d.intra_node_link_latency_s.value), d.intra_node_link_latency_s);
  out += line("host link (PCIe) bandwidth", bytes_per_s(d.host_link_bandwidth_bytes_per_s.value),
              d.host_link_bandwidth_bytes_per_s);
  if (const auto& f = d.dcn_bandwidth_per_host_bytes_per_s)
    out += line("DCN bandwidth per host", bytes_per_s(f->value), *f);
  out += line("collective step latency", microseconds(d.collective_step_latency_s.value),
              d.collective_step_latency_s);

  out += "\npower and price\n";
  out += line("power", fmt::format("{:.0f} W", d.power_w.value), d.power_w);
  if (const auto& f = d.price_usd_per_hour)
    out += line("price per device-hour", fmt::format("{:.2f} USD", f->value), *f);
  else
    out += absent("price per device-hour");

  out += "\nnetwork between nodes (the catalog's, for every device)\n";
  if (const auto& f = defaults.nic_bandwidth_efficiency)
    out += line("NIC collective efficiency", fraction(f->value), *f);
  else
    out += absent("NIC collective efficiency");
  out += line("NIC latency", microseconds(defaults.nic_latency_s.value), defaults.nic_latency_s);
  out += line("switch latency", microseconds(defaults.switch_latency_s.value),
              defaults.switch_latency_s);
  if (const auto& f = defaults.cross_socket_bandwidth_bytes_per_s)
    out += line("cross-socket bandwidth (PCIe nodes)", bytes_per_s(f->value), *f);
  else
    out += absent("cross-socket bandwidth (PCIe nodes)");
  out += "  NIC line rate and count: the scenario's cluster.network\n";
  return out;
}

std::string format_device_list(const Catalog& catalog) {
  // Names and vendors as wide as the longest, so that a user's device keeps the columns.
  std::size_t name_width = 20, vendor_width = 8;
  for (const DeviceSpec& d : catalog.devices()) {
    name_width = std::max(name_width, d.name.size());
    vendor_width = std::max(vendor_width, d.vendor.size());
  }
  const auto row = [&](std::string_view name, std::string_view kind, std::string_view vendor,
                       const std::string& peak, const std::string& memory,
                       const std::string& bandwidth, const std::string& price) {
    return fmt::format("{:<{}} {:<5} {:<{}} {:>20} {:>11} {:>12} {:>8}\n", name, name_width, kind,
                       vendor, vendor_width, peak, memory, bandwidth, price);
  };
  std::string out = row("device", "kind", "vendor", "dense peak", "memory", "bandwidth", "USD/h");
  for (const DeviceSpec& d : catalog.devices()) {
    out += row(d.name, to_string(d.kind), d.vendor, training_peak(d),
               fmt::format("{:.0f} GiB", d.memory_bytes.value / gib),
               bytes_per_s(d.memory_bandwidth_bytes_per_s.value),
               d.price_usd_per_hour ? fmt::format("{:.2f}", d.price_usd_per_hour->value) : "-");
  }
  return out;
}

}  // namespace scaleplan
