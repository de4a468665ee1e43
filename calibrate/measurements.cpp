#include "calibrate/measurements.hpp"

#include <limits>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/profile_io.hpp"

namespace scaleplan {

namespace {

constexpr std::int64_t unbounded = std::numeric_limits<std::int64_t>::max();

// A measured time: 1 ns (no kernel or collective is shorter) to 11 days.
constexpr NumberRange measured_time_s = NumberRange::closed(1e-9, 1e6);
// Bytes a kernel moves or a collective sends: 1 byte to 1 PB.
constexpr NumberRange measured_bytes = NumberRange::closed(1, 1e15);

double required_number(MapReader& map, std::string_view key, NumberRange range) {
  return map.number(key, range, required_key).value_or(range.low);
}

std::int64_t gemm_dimension(MapReader& map, std::string_view key) {
  return map.integer(key, 1, max_gemm_dimension, required_key).value_or(1);
}

// A count kept in an int (ranks, nodes, repeats): a larger one is refused rather than wrapped.
constexpr std::int64_t int_max = std::numeric_limits<int>::max();

// Absent: 0, the repeats were not recorded.
int optional_repeats(MapReader& map) {
  return static_cast<int>(map.integer("repeats", 1, int_max, 0).value_or(0));
}

// `spread` (the agreeing trials' range over their median) and `trials`, both optional; a spread
// without its trials is refused, since it would say nothing of how it was measured.
TrialSpread optional_agreement(MapReader& map) {
  TrialSpread a;
  a.trials = static_cast<int>(map.integer("trials", 1, int_max, 0).value_or(0));
  a.spread = map.number("spread", NumberRange::closed(0, 1e6), 0.0).value_or(0);
  if (map.has("spread") && a.trials == 0)
    map.error("spread", "a spread needs the number of trials it is of (trials)");
  return a;
}

// ", repeats: R, trials: T, spread: S}" for the fields recorded, and the line's end.
std::string repeats_and_agreement(int repeats, const TrialSpread& a) {
  std::string out = repeats > 0 ? ", repeats: " + std::to_string(repeats) : std::string();
  if (a.trials > 0)
    out += ", trials: " + std::to_string(a.trials) + ", spread: " + yaml_number(a.spread);
  return out + "}\n";
}

Environment read_environment(MapReader& e) {
  Environment env;
  env.tool = e.string("tool").value_or("");
  env.backend = e.string("backend").value_or("");
  env.device = e.string("device").value_or("");
  env.driver = e.string("driver").value_or("");
  env.cuda = e.string("cuda").value_or("");
  env.nccl = e.string("nccl").value_or("");
  env.mpi = e.string("mpi").value_or("");
  env.blas = e.string("blas").value_or("");
  for (const YAML::Node& host : e.sequence("hosts")) {
    if (host.IsScalar()) {
      env.hosts.push_back(host.Scalar());
    } else {
      e.diagnostics().error(host, e.path_of("hosts[]"), "expected a host name");
    }
  }
  e.finish();
  return env;
}

GemmMeasurement read_gemm(MapReader& g) {
  GemmMeasurement m;
  if (g.require("dtype")) {
    if (auto d = g.enumeration("dtype", dtype_names))
      m.dtype = *d;
  }
  m.dims.m = gemm_dimension(g, "m");
  m.dims.n = gemm_dimension(g, "n");
  m.dims.k = gemm_dimension(g, "k");
  m.dims.batch = g.integer("batch", 1, max_gemm_dimension, 1).value_or(1);
  m.time_s = required_number(g, "time_s", measured_time_s);
  m.repeats = optional_repeats(g);
  m.agreement = optional_agreement(g);
  g.finish();
  return m;
}

CollectiveMeasurement read_collective(MapReader& c) {
  CollectiveMeasurement m;
  if (c.require("collective")) {
    if (auto op = c.enumeration("collective", collective_op_names))
      m.op = *op;
  }
  if (c.require("algorithm"))
    m.algorithm = c.string("algorithm").value_or("");
  // Within max_collective_ranks, so that the casts keep every value.
  const auto ranks = c.integer("ranks", 1, max_collective_ranks, required_key);
  m.ranks = static_cast<int>(ranks.value_or(2));
  m.nodes = static_cast<int>(c.integer("nodes", 1, max_collective_ranks, required_key).value_or(1));
  if (ranks && *ranks < 2)
    c.error("ranks", "a collective needs at least 2 ranks");
  if (m.nodes > m.ranks)
    c.error("nodes", fmt::format("more nodes ({}) than ranks", m.nodes));
  m.bytes = required_number(c, "bytes", measured_bytes);
  m.count = c.integer("count", 1, unbounded, 0).value_or(0);
  m.type = c.string("type").value_or("");
  m.redop = c.string("redop").value_or("");
  // -1: the collective has no root.
  m.root = static_cast<int>(c.integer("root", -1, max_collective_ranks - 1, -1).value_or(-1));
  if (m.root >= m.ranks)
    c.error("root", fmt::format("rank {} is not one of the {} ranks", m.root, m.ranks));
  m.in_place = c.boolean("in_place").value_or(false);
  m.time_s = required_number(c, "time_s", measured_time_s);
  constexpr NumberRange bandwidth = NumberRange::non_negative(1e15);
  m.algbw_bytes_per_s = c.number("algbw_bytes_per_s", bandwidth, 0.0).value_or(0);
  m.busbw_bytes_per_s = c.number("busbw_bytes_per_s", bandwidth, 0.0).value_or(0);
  m.repeats = optional_repeats(c);
  m.agreement = optional_agreement(c);
  c.finish();
  return m;
}

}  // namespace

Measurements parse_measurements(std::string_view yaml_text, const std::string& file_label) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  Diagnostics diagnostics(file_label);
  MapReader top(root, "", diagnostics);
  top.header("scaleplan-measurements/1", "measurements");
  Measurements result;
  const std::vector<YAML::Node> runs = top.sequence("runs");
  if (top.has("runs") && runs.empty())
    top.error("runs", "lists no runs");
  top.require("runs");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    MapReader r(runs[i], "runs[" + std::to_string(i) + "]", diagnostics);
    MeasurementRun run;
    if (r.require("source"))
      run.source = r.string("source").value_or("");
    MapReader e = r.child("environment");
    run.environment = read_environment(e);
    for (const YAML::Node& item : r.sequence("gemm")) {
      MapReader g(item, r.path_of("gemm[]"), diagnostics);
      run.gemm.push_back(read_gemm(g));
    }
    for (const YAML::Node& item : r.sequence("memory")) {
      MapReader m(item, r.path_of("memory[]"), diagnostics);
      MemoryMeasurement mm;
      if (m.require("kernel"))
        mm.kernel = m.string("kernel").value_or("");
      mm.bytes = required_number(m, "bytes", measured_bytes);
      mm.time_s = required_number(m, "time_s", measured_time_s);
      mm.repeats = optional_repeats(m);
      mm.agreement = optional_agreement(m);
      m.finish();
      run.memory.push_back(mm);
    }
    for (const YAML::Node& item : r.sequence("launch")) {
      MapReader l(item, r.path_of("launch[]"), diagnostics);
      LaunchMeasurement lm;
      if (l.require("kernel"))
        lm.kernel = l.string("kernel").value_or("");
      lm.time_s = required_number(l, "time_s", measured_time_s);
      lm.repeats = optional_repeats(l);
      lm.agreement = optional_agreement(l);
      l.finish();
      run.launch.push_back(lm);
    }
    for (const YAML::Node& item : r.sequence("collectives")) {
      MapReader c(item, r.path_of("collectives[]"), diagnostics);
      run.collectives.push_back(read_collective(c));
    }
    r.finish();
    result.runs.push_back(std::move(run));
  }
  top.finish();
  diagnostics.throw_if_any();
  return result;
}

Measurements load_measurements(const std::filesystem::path& path) {
  return parse_measurements(read_input_file(path), path.string());
}

std::string write_measurements(const Measurements& measurements) {
  std::string out = "format: scaleplan-measurements/1\nruns:\n";
  for (const MeasurementRun& run : measurements.runs) {
    const Environment& e = run.environment;
    out += "  - source: " + yaml_quoted(run.source) + "\n";
    out += "    environment:\n";
    auto field = [&](const char* key, const std::string& value) {
      if (!value.empty())
        out += std::string("      ") + key + ": " + yaml_quoted(value) + "\n";
    };
    field("tool", e.tool);
    field("backend", e.backend);
    field("device", e.device);
    field("driver", e.driver);
    field("cuda", e.cuda);
    field("nccl", e.nccl);
    field("mpi", e.mpi);
    field("blas", e.blas);
    out += "      hosts: [";
    for (std::size_t i = 0; i < e.hosts.size(); ++i)
      out += (i ? ", " : "") + yaml_quoted(e.hosts[i]);
    out += "]\n";
    if (!run.gemm.empty())
      out += "    gemm:\n";
    for (const GemmMeasurement& g : run.gemm) {
      out += "      - {dtype: " + std::string(to_string(g.dtype)) +
             ", m: " + std::to_string(g.dims.m) + ", n: " + std::to_string(g.dims.n) +
             ", k: " + std::to_string(g.dims.k) + ", batch: " + std::to_string(g.dims.batch) +
             ", time_s: " + yaml_number(g.time_s);
      out += repeats_and_agreement(g.repeats, g.agreement);
    }
    if (!run.memory.empty())
      out += "    memory:\n";
    for (const MemoryMeasurement& m : run.memory) {
      out += "      - {kernel: " + yaml_quoted(m.kernel) + ", bytes: " + yaml_number(m.bytes) +
             ", time_s: " + yaml_number(m.time_s);
      out += repeats_and_agreement(m.repeats, m.agreement);
    }
    if (!run.launch.empty())
      out += "    launch:\n";
    for (const LaunchMeasurement& l : run.launch) {
      out += "      - {kernel: " + yaml_quoted(l.kernel) + ", time_s: " + yaml_number(l.time_s);
      out += repeats_and_agreement(l.repeats, l.agreement);
    }
    if (!run.collectives.empty())
      out += "    collectives:\n";
    for (const CollectiveMeasurement& c : run.collectives) {
      out += "      - {collective: " + std::string(to_string(c.op)) +
             ", algorithm: " + yaml_quoted(c.algorithm) + ", ranks: " + std::to_string(c.ranks) +
             ", nodes: " + std::to_string(c.nodes) + ", bytes: " + yaml_number(c.bytes);
      if (c.count > 0)
        out += ", count: " + std::to_string(c.count);
      if (!c.type.empty())
        out += ", type: " + yaml_quoted(c.type);
      if (!c.redop.empty())
        out += ", redop: " + yaml_quoted(c.redop);
      out += ", root: " + std::to_string(c.root);
      out += std::string(", in_place: ") + (c.in_place ? "true" : "false");
      out += ", time_s: " + yaml_number(c.time_s);
      if (c.algbw_bytes_per_s > 0)
        out += ", algbw_bytes_per_s: " + yaml_number(c.algbw_bytes_per_s);
      if (c.busbw_bytes_per_s > 0)
        out += ", busbw_bytes_per_s: " + yaml_number(c.busbw_bytes_per_s);
      out += repeats_and_agreement(c.repeats, c.agreement);
    }
  }
  return out;
}

}  // namespace scaleplan
