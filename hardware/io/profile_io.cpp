#include "hardware/io/profile_io.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/figure_input.hpp"

namespace scaleplan {

namespace {

// A size regime's slope, seconds per byte (read_collective).
constexpr double max_segment_seconds_per_byte = 1e-3;

// A number from `low` to `high`, required.
std::optional<double> read_number(MapReader& map, std::string_view key, double low, double high) {
  return map.number(key, NumberRange::closed(low, high), required_key);
}

std::optional<std::int64_t> read_gemm_dimension(MapReader& map, std::string_view key) {
  return map.integer(key, 1, max_gemm_dimension, required_key);
}

// A positive count kept in an int, up to `max` (ranks, nodes, points): a larger one is refused,
// not wrapped.
std::optional<int> read_count(MapReader& map, std::string_view key,
                              int max = std::numeric_limits<int>::max()) {
  const auto v = map.integer(key, 1, max, required_key);
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

std::optional<FitQuality> read_fit(MapReader& parent) {
  if (!parent.has("fit")) {
    parent.accept("fit");
    return std::nullopt;
  }
  MapReader f = parent.child("fit");
  FitQuality q;
  q.r_squared = read_number(f, "r_squared", -1e300, 1).value_or(0);
  q.worst_relative_error = read_number(f, "worst_relative_error", 0, 1e300).value_or(0);
  q.points = read_count(f, "points").value_or(0);
  q.median_spread = f.number("median_spread", NumberRange::closed(0, 1e6));
  q.worst_spread = f.number("worst_spread", NumberRange::closed(0, 1e6));
  if (q.median_spread.has_value() != q.worst_spread.has_value())
    f.error(q.median_spread ? "median_spread" : "worst_spread",
            "median_spread and worst_spread go together");
  else if (q.median_spread && *q.median_spread > *q.worst_spread)
    f.error("median_spread", "the median spread is above the worst");
  f.finish();
  return q;
}

std::string read_text(MapReader& map, std::string_view key) {
  return map.string(key).value_or("");
}

GemmProfile read_gemm(MapReader& g) {
  GemmProfile p;
  p.peak_flops_per_s =
      read_figure(g, "peak_flops_per_s", true, physical::flops_per_s).value_or(Figure{1, ""});
  if (g.require("source"))
    p.source = read_text(g, "source");
  if (g.require("model")) {
    MapReader m = g.child("model");
    p.model.fixed_s = read_number(m, "fixed_s", 0, physical::latency_s.high).value_or(0);
    // Above 1 only where the peak is the best shape measured (calibrate fit without --device):
    // the fit's asymptote may lie beyond the largest shape timed. A scenario checks the
    // throughput against its device's datasheet peak.
    p.model.peak_efficiency = read_number(m, "peak_efficiency", 1e-3, 2).value_or(1);
    p.model.m_half = read_number(m, "m_half", 0, 1e12).value_or(0);
    p.model.n_half = read_number(m, "n_half", 0, 1e12).value_or(0);
    p.model.k_half = read_number(m, "k_half", 0, 1e12).value_or(0);
    m.finish();
  }
  p.interpolation_radius_octaves =
      g.number("interpolation_radius_octaves", NumberRange::closed(1e-3, 64),
               p.interpolation_radius_octaves)
          .value_or(p.interpolation_radius_octaves);
  for (const YAML::Node& row : g.sequence("table")) {
    MapReader r(row, g.path_of("table[]"), g.diagnostics());
    GemmSample s;
    s.dims.m = read_gemm_dimension(r, "m").value_or(1);
    s.dims.n = read_gemm_dimension(r, "n").value_or(1);
    s.dims.k = read_gemm_dimension(r, "k").value_or(1);
    s.dims.batch = read_gemm_dimension(r, "batch").value_or(1);
    // Achieved over the profile's peak for one shape: never above it, and tiny for tiny shapes
    // (two FLOPs in a microsecond-long kernel).
    s.efficiency = read_number(r, "efficiency", 1e-15, 1).value_or(1);
    r.finish();
    p.table.push_back(s);
  }
  p.fit = read_fit(g);
  g.finish();
  return p;
}

// The size regimes of a fit (collectives, memory), smallest first.
std::vector<CollectiveSegment> read_segments(MapReader& c) {
  std::vector<CollectiveSegment> segments;
  for (const YAML::Node& item : c.sequence("segments")) {
    MapReader r(item, c.path_of("segments[]"), c.diagnostics());
    CollectiveSegment segment;
    segment.from_bytes = read_number(r, "from_bytes", 0, 1e18).value_or(0);
    segment.latency_s = read_number(r, "latency_s", 0, physical::latency_s.high).value_or(0);
    // 0: the regime's time does not grow with size. A regime of small sizes has a slope that is
    // a marginal cost dominated by noise, not a link's bandwidth (4.6e-6 s/B between 8 and 64
    // bytes, measured with MPI on a loaded host): bounded at a marginal 1 kB/s.
    segment.seconds_per_byte =
        read_number(r, "seconds_per_byte", 0, max_segment_seconds_per_byte).value_or(0);
    if (!segments.empty() && !(segment.from_bytes > segments.back().from_bytes)) {
      r.error("from_bytes", fmt::format("regimes go from small to large sizes: {} does not exceed "
                                        "the previous {}",
                                        segment.from_bytes, segments.back().from_bytes));
    }
    r.finish();
    segments.push_back(segment);
  }
  return segments;
}

CollectiveProfile read_collective(MapReader& c) {
  CollectiveProfile p;
  if (c.require("collective")) {
    if (auto op = c.enumeration("collective", collective_op_names))
      p.op = *op;
  }
  if (c.require("algorithm"))
    p.algorithm = read_text(c, "algorithm");
  p.ranks = read_count(c, "ranks", max_collective_ranks).value_or(2);
  p.nodes = read_count(c, "nodes", max_collective_ranks).value_or(1);
  if (p.ranks < 2)
    c.error("ranks", "a collective needs at least 2 ranks");
  if (p.nodes > p.ranks)
    c.error("nodes", "more nodes than ranks");
  if (c.has("nics_per_node")) {
    p.nics_per_node = read_count(c, "nics_per_node").value_or(1);
    if (p.nodes == 1)
      c.error("nics_per_node", "applies only to groups over several nodes (nodes > 1)");
  } else {
    c.accept("nics_per_node");
  }
  p.latency_s = read_figure(c, "latency_s", true, physical::latency_s).value_or(Figure{});
  p.bus_bandwidth_bytes_per_s =
      read_figure(c, "bus_bandwidth_bytes_per_s", true, physical::bytes_per_s)
          .value_or(Figure{1, ""});
  p.segments = read_segments(c);
  p.fit = read_fit(c);
  c.finish();
  return p;
}

}  // namespace

Profile parse_profile(std::string_view yaml_text, const std::string& file_label) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  Diagnostics diagnostics(file_label);
  MapReader top(root, "", diagnostics);
  Profile p;
  top.header("scaleplan-profile/1", "calibration profile");
  if (top.require("device"))
    p.device = read_text(top, "device");
  p.description = read_text(top, "description");
  {
    MapReader on = top.child("measured_on");
    p.measured_on.device = read_text(on, "device");
    p.measured_on.driver = read_text(on, "driver");
    p.measured_on.cuda = read_text(on, "cuda");
    p.measured_on.nccl = read_text(on, "nccl");
    for (const YAML::Node& host : on.sequence("hosts")) {
      if (host.IsScalar()) {
        p.measured_on.hosts.push_back(host.Scalar());
      } else {
        diagnostics.error(host, on.path_of("hosts[]"), "expected a host name");
      }
    }
    on.finish();
  }
  {
    MapReader gemm = top.child("gemm");
    for (const auto& [dtype, name] : dtype_names.entries()) {
      if (!gemm.has(name)) {
        gemm.accept(name);
        continue;
      }
      MapReader g = gemm.child(name);
      p.gemm[dtype] = read_gemm(g);
    }
    gemm.finish();
  }
  if (top.has("memory")) {
    MapReader m = top.child("memory");
    BandwidthProfile b;
    b.bandwidth_bytes_per_s = read_figure(m, "bandwidth_bytes_per_s", true, physical::bytes_per_s)
                                  .value_or(Figure{1, ""});
    b.latency_s = read_figure(m, "latency_s", true, physical::latency_s).value_or(Figure{});
    b.segments = read_segments(m);
    b.fit = read_fit(m);
    m.finish();
    p.memory = b;
  } else {
    top.accept("memory");
  }
  p.kernel_launch_overhead_s =
      read_figure(top, "kernel_launch_overhead_s", false, physical::latency_s);
  p.sustained_gemm_fraction =
      read_figure(top, "sustained_gemm_fraction", false, NumberRange::closed(1e-3, 1e3));
  if (p.sustained_gemm_fraction && p.sustained_gemm_fraction->value > max_sustained_gemm_fraction)
    top.error("sustained_gemm_fraction",
              fmt::format("a share of the measured throughput, at most {}; got {}",
                          max_sustained_gemm_fraction, p.sustained_gemm_fraction->value));
  for (const YAML::Node& item : top.sequence("collectives")) {
    MapReader c(item, "collectives[]", diagnostics);
    p.collectives.push_back(read_collective(c));
  }
  top.finish();
  diagnostics.throw_if_any();
  return p;
}

Profile load_profile(const std::filesystem::path& path) {
  return parse_profile(read_input_file(path), path.string());
}

// ---------------------------------------------------------------------------------------------
// YAML writing

std::string yaml_number(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string yaml_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

namespace {

std::string figure(const Figure& f) {
  return "{value: " + yaml_number(f.value) + ", source: " + yaml_quoted(f.source) + "}";
}

std::string fit_line(const std::optional<FitQuality>& q, const std::string& indent) {
  if (!q)
    return "";
  return indent + "fit: {r_squared: " + yaml_number(q->r_squared) +
         ", worst_relative_error: " + yaml_number(q->worst_relative_error) +
         ", points: " + std::to_string(q->points) +
         (q->median_spread && q->worst_spread
              ? ", median_spread: " + yaml_number(*q->median_spread) +
                    ", worst_spread: " + yaml_number(*q->worst_spread)
              : std::string()) +
         "}\n";
}

std::string segment_lines(const std::vector<CollectiveSegment>& segments,
                          const std::string& indent) {
  if (segments.empty())
    return "";
  std::string out = indent + "segments:\n";
  for (const CollectiveSegment& segment : segments) {
    out += indent + "  - {from_bytes: " + yaml_number(segment.from_bytes) +
           ", latency_s: " + yaml_number(segment.latency_s) +
           ", seconds_per_byte: " + yaml_number(segment.seconds_per_byte) + "}\n";
  }
  return out;
}

}  // namespace

std::string write_profile(const Profile& p) {
  std::string out = "format: scaleplan-profile/1\n";
  out += "device: " + yaml_quoted(p.device) + "\n";
  if (!p.description.empty())
    out += "description: " + yaml_quoted(p.description) + "\n";
  const MeasuredOn& on = p.measured_on;
  out += "measured_on:\n";
  out += "  device: " + yaml_quoted(on.device) + "\n";
  out += "  driver: " + yaml_quoted(on.driver) + "\n";
  out += "  cuda: " + yaml_quoted(on.cuda) + "\n";
  out += "  nccl: " + yaml_quoted(on.nccl) + "\n";
  out += "  hosts: [";
  for (std::size_t i = 0; i < on.hosts.size(); ++i)
    out += (i ? ", " : "") + yaml_quoted(on.hosts[i]);
  out += "]\n";
  if (!p.gemm.empty())
    out += "gemm:\n";
  for (const auto& [dtype, g] : p.gemm) {
    out += "  " + std::string(to_string(dtype)) + ":\n";
    out += "    peak_flops_per_s: " + figure(g.peak_flops_per_s) + "\n";
    out += "    source: " + yaml_quoted(g.source) + "\n";
    out += "    model: {fixed_s: " + yaml_number(g.model.fixed_s) +
           ", peak_efficiency: " + yaml_number(g.model.peak_efficiency) +
           ", m_half: " + yaml_number(g.model.m_half) + ", n_half: " + yaml_number(g.model.n_half) +
           ", k_half: " + yaml_number(g.model.k_half) + "}\n";
    out += fit_line(g.fit, "    ");
    out +=
        "    interpolation_radius_octaves: " + yaml_number(g.interpolation_radius_octaves) + "\n";
    out += "    table:\n";
    for (const GemmSample& s : g.table) {
      out += "      - {m: " + std::to_string(s.dims.m) + ", n: " + std::to_string(s.dims.n) +
             ", k: " + std::to_string(s.dims.k) + ", batch: " + std::to_string(s.dims.batch) +
             ", efficiency: " + yaml_number(s.efficiency) + "}\n";
    }
  }
  if (p.memory) {
    out += "memory:\n";
    out += "  bandwidth_bytes_per_s: " + figure(p.memory->bandwidth_bytes_per_s) + "\n";
    out += "  latency_s: " + figure(p.memory->latency_s) + "\n";
    out += segment_lines(p.memory->segments, "  ");
    out += fit_line(p.memory->fit, "  ");
  }
  if (p.kernel_launch_overhead_s)
    out += "kernel_launch_overhead_s: " + figure(*p.kernel_launch_overhead_s) + "\n";
  if (p.sustained_gemm_fraction)
    out += "sustained_gemm_fraction: " + figure(*p.sustained_gemm_fraction) + "\n";
  if (!p.collectives.empty())
    out += "collectives:\n";
  for (const CollectiveProfile& c : p.collectives) {
    out += "  - collective: " + std::string(to_string(c.op)) + "\n";
    out += "    algorithm: " + yaml_quoted(c.algorithm) + "\n";
    out += "    ranks: " + std::to_string(c.ranks) + "\n";
    out += "    nodes: " + std::to_string(c.nodes) + "\n";
    if (c.nics_per_node)
      out += "    nics_per_node: " + std::to_string(*c.nics_per_node) + "\n";
    out += "    latency_s: " + figure(c.latency_s) + "\n";
    out += "    bus_bandwidth_bytes_per_s: " + figure(c.bus_bandwidth_bytes_per_s) + "\n";
    out += segment_lines(c.segments, "    ");
    out += fit_line(c.fit, "    ");
  }
  return out;
}

}  // namespace scaleplan
