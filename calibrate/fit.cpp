#include "calibrate/fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/profile_io.hpp"

namespace scaleplan {

Eigen::VectorXd nonnegative_least_squares(const Eigen::MatrixXd& a, const Eigen::VectorXd& b,
                                          unsigned required_columns_mask, int max_columns) {
  const int columns = static_cast<int>(a.cols());
  if (columns > 16)
    throw std::invalid_argument("subset least squares is for a handful of columns");
  // Columns scaled to unit norm: the features span many orders of magnitude (1 to 1e15 FLOPs).
  Eigen::VectorXd scale(columns);
  for (int j = 0; j < columns; ++j) {
    const double norm = a.col(j).norm();
    scale(j) = norm > 0 ? 1 / norm : 1;
  }
  const Eigen::MatrixXd scaled = a * scale.asDiagonal();
  std::optional<Eigen::VectorXd> best;
  double best_residual = 0;
  int best_size = 0;
  for (unsigned mask = 1; mask < (1u << columns); ++mask) {
    if ((mask & required_columns_mask) != required_columns_mask)
      continue;
    std::vector<int> chosen;
    for (int j = 0; j < columns; ++j) {
      if (mask & (1u << j))
        chosen.push_back(j);
    }
    const int size = static_cast<int>(chosen.size());
    if (size > a.rows() || size > max_columns)
      continue;
    Eigen::MatrixXd sub(a.rows(), size);
    for (int j = 0; j < size; ++j)
      sub.col(j) = scaled.col(chosen[j]);
    const auto qr = sub.colPivHouseholderQr();
    if (qr.rank() < size)
      continue;
    const Eigen::VectorXd c = qr.solve(b);
    if ((c.array() < 0).any())
      continue;
    const double residual = (sub * c - b).squaredNorm();
    // A larger subset must lower the residual by more than rounding to be preferred.
    const double rounding = 1e-12 * b.squaredNorm();
    const bool better = !best || residual < best_residual - rounding ||
                        (residual <= best_residual + rounding && size < best_size);
    if (better) {
      Eigen::VectorXd full = Eigen::VectorXd::Zero(columns);
      for (int j = 0; j < size; ++j)
        full(chosen[j]) = c(j) * scale(chosen[j]);
      best = full;
      best_residual = residual;
      best_size = size;
    }
  }
  if (!best)
    throw std::invalid_argument("no non-negative least-squares solution");
  return *best;
}

namespace {

// R² of log(time): the fits minimise relative error, which is error in log time, and log time
// keeps the largest points from drowning the rest. With fewer than two distinct times R² is 1
// for an exact fit, else 0.
FitQuality quality(const std::vector<double>& measured_time,
                   const std::vector<double>& predicted_time) {
  FitQuality q;
  q.points = static_cast<int>(measured_time.size());
  double mean = 0;
  for (double t : measured_time)
    mean += std::log(t);
  mean /= static_cast<double>(measured_time.size());
  double total = 0, residual = 0;
  for (std::size_t i = 0; i < measured_time.size(); ++i) {
    const double y = std::log(measured_time[i]), fitted = std::log(predicted_time[i]);
    total += (y - mean) * (y - mean);
    residual += (y - fitted) * (y - fitted);
    q.worst_relative_error = std::max(
        q.worst_relative_error, std::abs(predicted_time[i] - measured_time[i]) / measured_time[i]);
  }
  constexpr double tiny = 1e-24;
  q.r_squared = total > tiny ? 1 - residual / total : (residual <= tiny ? 1 : 0);
  return q;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The measurements' own noise beside the fit's quality: the median and worst spread of the trials
// of the points that recorded one.
void add_spread(FitQuality& q, const std::vector<double>& spreads) {
  if (spreads.empty())
    return;
  q.median_spread = median(spreads);
  q.worst_spread = *std::max_element(spreads.begin(), spreads.end());
}

void note_spread(const TrialSpread& a, std::vector<double>& spreads) {
  if (a.trials > 0)
    spreads.push_back(a.spread);
}

std::string join(const std::set<std::string>& words) {
  std::string text;
  for (const auto& w : words)
    text += (text.empty() ? "" : "; ") + w;
  return text;
}

using DimsKey = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>;

struct GemmPoints {
  std::map<DimsKey, std::vector<double>> times;  // repeated shapes: their median is the point
  std::set<std::string> sources;
  std::vector<double> spreads;
};

void fit_gemm(Dtype dtype, const GemmPoints& points, const FitOptions& options, FitResult& out) {
  std::vector<GemmDims> dims;
  std::vector<double> time_s;
  for (const auto& [key, times] : points.times) {
    const auto [m, n, k, batch] = key;
    dims.push_back({m, n, k, batch});
    time_s.push_back(median(times));
  }
  GemmProfile g;
  g.interpolation_radius_octaves = options.interpolation_radius_octaves;
  const std::string sources = join(points.sources);
  if (options.device && options.device->supports(dtype)) {
    g.peak_flops_per_s = options.device->peak_flops_per_s.at(dtype);
  } else {
    double best = 0;
    for (std::size_t i = 0; i < dims.size(); ++i)
      best = std::max(best, gemm_flops(dims[i]) / time_s[i]);
    g.peak_flops_per_s = {best, "highest " + std::string(to_string(dtype)) +
                                    " GEMM throughput measured in: " + sources};
  }
  const double peak = g.peak_flops_per_s.value;
  const Eigen::Index n = static_cast<Eigen::Index>(dims.size());
  Eigen::MatrixXd a(n, 5);
  for (Eigen::Index i = 0; i < n; ++i) {
    const GemmDims& d = dims[i];
    const double f = gemm_flops(d);
    const double row[5] = {1, f, f / static_cast<double>(d.m), f / static_cast<double>(d.n),
                           f / static_cast<double>(d.k)};
    for (int j = 0; j < 5; ++j)
      a(i, j) = row[j] / time_s[i];
  }
  // The fit keeps a degree of freedom: with n points it uses at most n - 1 of its coefficients
  // (one for a single point). Otherwise it passes through every point whatever their noise, so
  // that two measurements 1 % apart (different software, say) become a shape law that
  // extrapolates to shapes nobody measured, while its quality figures report a perfect fit.
  const int max_columns = std::max(1, static_cast<int>(n) - 1);
  Eigen::VectorXd c = nonnegative_least_squares(a, Eigen::VectorXd::Ones(n), 0b00010, max_columns);
  // Against a datasheet peak the asymptote may not exceed it: the fit is redone with the peak as
  // the asymptote (c1 = 1/peak moved to the right-hand side) when it would.
  const bool capped = options.device && c(1) * peak < 1;
  if (capped) {
    Eigen::VectorXd rest = Eigen::VectorXd::Ones(n) - a.col(1) / peak;
    Eigen::MatrixXd others(n, 4);
    others << a.col(0), a.col(2), a.col(3), a.col(4);
    // The peak spends the one coefficient a fit of one or two points may use.
    const Eigen::VectorXd d = max_columns > 1
                                  ? nonnegative_least_squares(others, rest, 0, max_columns - 1)
                                  : Eigen::VectorXd::Zero(4).eval();
    c << d(0), 1 / peak, d(1), d(2), d(3);
  }
  g.model.fixed_s = c(0);
  g.model.peak_efficiency = 1 / (c(1) * peak);
  g.model.m_half = c(2) / c(1);
  g.model.n_half = c(3) / c(1);
  g.model.k_half = c(4) / c(1);
  std::vector<double> predicted_time;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    // Achieved over peak, in that order: the best shape's is exactly 1 where the peak is the
    // best achieved (f / (t · peak) can round to 1 + 2^-52, which the profile reader refuses).
    g.table.push_back({dims[i], gemm_flops(dims[i]) / time_s[i] / peak});
    predicted_time.push_back(gemm_flops(dims[i]) / (g.model_efficiency(dims[i]) * peak));
  }
  g.fit = quality(time_s, predicted_time);
  add_spread(*g.fit, points.spreads);
  g.source = "least-squares fit and table of " + std::to_string(dims.size()) + " " +
             std::string(to_string(dtype)) + " GEMM shapes from: " + sources;
  std::string summary = "peak efficiency " + fmt::format("{:.3f}", g.model.peak_efficiency) +
                        " of " + fmt::format("{:.4g}", peak / 1e12) + " TFLOP/s, half at m " +
                        fmt::format("{:.0f}", g.model.m_half) + ", n " +
                        fmt::format("{:.0f}", g.model.n_half) + ", k " +
                        fmt::format("{:.0f}", g.model.k_half) + ", fixed " +
                        fmt::format("{:.2f} us", g.model.fixed_s * 1e6) +
                        (capped ? " (asymptote capped at the datasheet peak)" : "");
  out.lines.push_back({"gemm " + std::string(to_string(dtype)), summary, g.fit});
  out.profile.gemm[dtype] = std::move(g);
}

using GroupKey = std::tuple<CollectiveOp, std::string, int, int>;

struct CollectivePoints {
  std::vector<double> bytes, time_s;
  std::set<std::string> sources;
  std::vector<double> spreads;
};

// A line through points[from, to) of a collective, on relative error: its coefficients and the
// sum of squared relative residuals. The last regime must keep a bandwidth term: it is what the
// largest messages reach.
struct RegimeFit {
  double latency_s = 0;
  double seconds_per_byte = 0;
  double squared_error = 0;
};

RegimeFit fit_regime(const std::vector<std::pair<double, double>>& points, std::size_t from,
                     std::size_t to, bool needs_bandwidth) {
  const auto n = static_cast<Eigen::Index>(to - from);
  Eigen::MatrixXd a(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& [bytes, time_s] = points[from + static_cast<std::size_t>(i)];
    a(i, 0) = 1 / time_s;
    a(i, 1) = bytes / time_s;
  }
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(n);
  try {
    const Eigen::VectorXd c = nonnegative_least_squares(a, ones, needs_bandwidth ? 0b10u : 0b00u);
    return {c(0), c(1), (a * c - ones).squaredNorm()};
  } catch (const std::invalid_argument&) {
    // Times that fall with size have no line with a bandwidth term: not a last regime.
    return {0, 0, std::numeric_limits<double>::infinity()};
  }
}

// The size regimes of a collective's points, sorted by size: at most max_regimes runs of at
// least min_points consecutive points, each with its own line, chosen by dynamic programming
// over the boundaries to minimise the Bayesian information criterion of the relative residuals,
// n·ln(SSE/n) + (3k - 1)·ln n for k regimes (two coefficients each and k - 1 boundaries), so
// that a regime is added only where the curve bends by more than the noise.
std::vector<RegimeFit> fit_regimes(const std::vector<std::pair<double, double>>& points,
                                   std::vector<std::size_t>& starts) {
  constexpr std::size_t max_regimes = 3, min_points = 4;
  const std::size_t n = points.size();
  const std::size_t most = std::min(max_regimes, std::max<std::size_t>(1, n / min_points));
  constexpr double unreachable = std::numeric_limits<double>::infinity();
  // best[k][j]: the least error of k regimes over points[0, j), and where its last one starts.
  std::vector<std::vector<double>> best(most + 1, std::vector<double>(n + 1, unreachable));
  std::vector<std::vector<std::size_t>> start(most + 1, std::vector<std::size_t>(n + 1, 0));
  std::map<std::pair<std::size_t, std::size_t>, RegimeFit> fits;
  auto fit = [&](std::size_t from, std::size_t to) -> const RegimeFit& {
    auto [it, inserted] = fits.try_emplace({from, to});
    if (inserted)
      it->second = fit_regime(points, from, to, to == n);
    return it->second;
  };
  best[0][0] = 0;
  for (std::size_t k = 1; k <= most; ++k) {
    for (std::size_t j = 1; j <= n; ++j) {
      // One regime may be short when there are few points in all; more need min_points each.
      const std::size_t shortest = most == 1 ? 1 : min_points;
      for (std::size_t i = 0; i + shortest <= j; ++i) {
        // Regimes start at a new size: repeated measurements of one size stay together.
        if (best[k - 1][i] == unreachable || (i > 0 && points[i - 1].first == points[i].first))
          continue;
        const double error = best[k - 1][i] + fit(i, j).squared_error;
        if (error < best[k][j]) {
          best[k][j] = error;
          start[k][j] = i;
        }
      }
    }
  }
  std::size_t chosen = 1;
  double chosen_criterion = unreachable;
  const auto points_n = static_cast<double>(n);
  for (std::size_t k = 1; k <= most; ++k) {
    if (best[k][n] == unreachable)
      continue;
    // A floor far below any measurement's noise keeps exact fits finite and lets the penalty
    // prefer the fewest regimes among them.
    const double sse = std::max(best[k][n], 1e-24 * points_n);
    const double criterion = points_n * std::log(sse / points_n) +
                             (3.0 * static_cast<double>(k) - 1) * std::log(points_n);
    if (criterion < chosen_criterion) {
      chosen = k;
      chosen_criterion = criterion;
    }
  }
  if (chosen_criterion == unreachable)
    throw std::invalid_argument("no line with a bandwidth term fits the largest sizes measured");
  std::vector<RegimeFit> regimes(chosen);
  starts.assign(chosen, 0);
  std::size_t j = n;
  for (std::size_t k = chosen; k >= 1; --k) {
    const std::size_t i = start[k][j];
    regimes[k - 1] = fit(i, j);
    starts[k - 1] = i;
    j = i;
  }
  return regimes;
}

void fit_collective(const GroupKey& key, const CollectivePoints& points, FitResult& out) {
  const auto& [op, algorithm, ranks, nodes] = key;
  std::vector<std::pair<double, double>> sorted;
  for (std::size_t i = 0; i < points.bytes.size(); ++i)
    sorted.emplace_back(points.bytes[i], points.time_s[i]);
  std::sort(sorted.begin(), sorted.end());
  const std::string group =
      std::string(to_string(op)) + " " + algorithm + " " + group_text(ranks, nodes);
  std::vector<std::size_t> starts;
  std::vector<RegimeFit> regimes;
  try {
    regimes = fit_regimes(sorted, starts);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(group + ": " + e.what() + "; measure larger messages");
  }
  const double factor = bus_bandwidth_factor(op, ranks);
  std::string regime_text;
  for (std::size_t r = 0; r < regimes.size(); ++r)
    regime_text += (r ? ", " : "") + format_bytes(sorted[starts[r]].first);
  const std::string source =
      (regimes.size() == 1
           ? std::string("fit of time = alpha + bytes / algbw to ")
           : "fit of time = alpha + bytes / algbw per size regime (from " + regime_text + ") to ") +
      std::to_string(points.bytes.size()) + " points from: " + join(points.sources);
  const RegimeFit& smallest = regimes.front();
  const RegimeFit& largest = regimes.back();
  CollectiveProfile c{op,
                      algorithm,
                      ranks,
                      nodes,
                      {smallest.latency_s, source},
                      {factor / largest.seconds_per_byte, source},
                      std::nullopt,
                      std::nullopt,
                      {}};
  if (regimes.size() > 1) {
    for (std::size_t r = 0; r < regimes.size(); ++r) {
      // A regime starts where its first point is; the first covers everything below too.
      c.segments.push_back({r == 0 ? 0.0 : sorted[starts[r]].first, regimes[r].latency_s,
                            regimes[r].seconds_per_byte});
    }
  }
  std::vector<double> predicted_time;
  for (double x : points.bytes)
    predicted_time.push_back(c.time_s(x));
  c.fit = quality(points.time_s, predicted_time);
  add_spread(*c.fit, points.spreads);
  out.lines.push_back({group,
                       "alpha " + fmt::format("{:.2f} us", smallest.latency_s * 1e6) + ", busbw " +
                           fmt::format("{:.2f} GB/s", c.bus_bandwidth_bytes_per_s.value / 1e9) +
                           (regimes.size() > 1 ? ", " + std::to_string(regimes.size()) +
                                                     " size regimes from " + regime_text
                                               : std::string()),
                       c.fit});
  out.profile.collectives.push_back(c);
}

// Streaming kernels run from the caches up to their size and from DRAM beyond (a CPU's last-level
// cache of tens of MiB is where the plans' small norms and residuals live, its DRAM where an
// optimizer's state does): the size regimes of the collectives' fit, so that one line does not
// average the two.
void fit_memory(std::vector<std::pair<double, double>> points, const std::set<std::string>& sources,
                const std::vector<double>& spreads, FitResult& out) {
  std::sort(points.begin(), points.end());
  std::vector<std::size_t> starts;
  std::vector<RegimeFit> regimes;
  try {
    regimes = fit_regimes(points, starts);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("memory: ") + e.what() + "; measure larger arrays");
  }
  std::string regime_text;
  for (std::size_t r = 0; r < regimes.size(); ++r)
    regime_text += (r ? ", " : "") + format_bytes(points[starts[r]].first);
  const std::string source =
      (regimes.size() == 1 ? std::string("fit of time = latency + bytes / bandwidth to ")
                           : "fit of time = latency + bytes / bandwidth per size regime (from " +
                                 regime_text + ") to ") +
      std::to_string(points.size()) + " copy/triad points from: " + join(sources);
  const double latency = regimes.front().latency_s;
  BandwidthProfile b{
      {1 / regimes.back().seconds_per_byte, source}, {latency, source}, std::nullopt, {}};
  if (regimes.size() > 1) {
    for (std::size_t r = 0; r < regimes.size(); ++r) {
      b.segments.push_back({r == 0 ? 0.0 : points[starts[r]].first, regimes[r].latency_s,
                            regimes[r].seconds_per_byte});
    }
  }
  std::vector<double> time_s, predicted_time;
  for (const auto& [bytes, t] : points) {
    time_s.push_back(t);
    predicted_time.push_back(b.time_s(bytes));
  }
  b.fit = quality(time_s, predicted_time);
  add_spread(*b.fit, spreads);
  std::string regime_summary;
  for (std::size_t r = 0; regimes.size() > 1 && r < regimes.size(); ++r) {
    const double per_byte = regimes[r].seconds_per_byte;
    regime_summary += fmt::format(
        "{}{} from {}", r ? ", " : "; ",
        per_byte > 0 ? fmt::format("{:.1f} GB/s", 1e-9 / per_byte) : std::string("flat"),
        format_bytes(points[starts[r]].first));
  }
  out.lines.push_back({"memory",
                       fmt::format("{:.1f} GB/s", b.bandwidth_bytes_per_s.value / 1e9) +
                           ", latency " + fmt::format("{:.2f} us", latency * 1e6) + regime_summary,
                       b.fit});
  out.profile.memory = b;
}

// A GEMM measured faster than the datasheet peak it is fitted against would be stored as an
// efficiency above 1: the time is wrong (a kernel that did not run, a clock that did not wait),
// or it was measured on another device or dtype.
void check_below_datasheet_peak(const GemmMeasurement& g, const std::string& source,
                                const FitOptions& options, std::vector<Diagnostic>& problems) {
  if (!options.device || !options.device->supports(g.dtype))
    return;
  const Figure& peak = options.device->peak_flops_per_s.at(g.dtype);
  const double achieved = gemm_flops(g.dims) / g.time_s;
  if (achieved <= peak.value)
    return;
  problems.push_back(
      {{source, 0, 0},
       "gemm",
       fmt::format("{} {}×{}×{} (batch {}) in {:.3g} s is {:.3g} FLOP/s, {:.3g} times the {} "
                   "datasheet peak of {:.3g} FLOP/s; the time is too short, or it was measured "
                   "on another device or dtype",
                   to_string(g.dtype), g.dims.m, g.dims.n, g.dims.k, g.dims.batch, g.time_s,
                   achieved, achieved / peak.value, options.device->name, peak.value)});
}

// A fit must give a profile its reader takes back: every figure within its physical range.
// Measurements that fit outside it (a bandwidth of 1e20 B/s from times too short) are refused
// here, rather than written into a profile that every later command would refuse.
void check_readable(const Profile& profile) {
  try {
    parse_profile(write_profile(profile), "<fitted profile>");
  } catch (const InputError& e) {
    std::vector<Diagnostic> problems;
    for (Diagnostic d : e.diagnostics()) {
      d.message = "the measurements fit a figure outside its physical range: " + d.message;
      problems.push_back(std::move(d));
    }
    throw InputError(std::move(problems));
  }
}

}  // namespace

FitResult fit_profile(const std::vector<Measurements>& inputs, const FitOptions& options) {
  FitResult out;
  std::map<Dtype, GemmPoints> gemm;
  std::vector<std::pair<double, double>> memory;
  std::vector<double> memory_spreads;
  std::set<std::string> memory_sources, launch_sources;
  std::vector<double> launch;
  std::map<GroupKey, CollectivePoints> collectives;
  std::set<std::string> devices, drivers, cuda, nccl, hosts;
  std::vector<Diagnostic> problems;
  for (const Measurements& input : inputs) {
    for (const MeasurementRun& run : input.runs) {
      const Environment& e = run.environment;
      for (const auto& [set, value] :
           {std::pair{&devices, &e.device}, std::pair{&drivers, &e.driver},
            std::pair{&cuda, &e.cuda}, std::pair{&nccl, &e.nccl}}) {
        if (!value->empty())
          set->insert(*value);
      }
      hosts.insert(e.hosts.begin(), e.hosts.end());
      for (const GemmMeasurement& g : run.gemm) {
        check_below_datasheet_peak(g, run.source, options, problems);
        gemm[g.dtype].times[{g.dims.m, g.dims.n, g.dims.k, g.dims.batch}].push_back(g.time_s);
        gemm[g.dtype].sources.insert(run.source);
        note_spread(g.agreement, gemm[g.dtype].spreads);
      }
      for (const MemoryMeasurement& m : run.memory) {
        memory.emplace_back(m.bytes, m.time_s);
        memory_sources.insert(run.source);
        note_spread(m.agreement, memory_spreads);
      }
      for (const LaunchMeasurement& l : run.launch) {
        launch.push_back(l.time_s);
        launch_sources.insert(run.source);
      }
      for (const CollectiveMeasurement& c : run.collectives) {
        CollectivePoints& p = collectives[{c.op, c.algorithm, c.ranks, c.nodes}];
        p.bytes.push_back(c.bytes);
        p.time_s.push_back(c.time_s);
        p.sources.insert(run.source);
        note_spread(c.agreement, p.spreads);
      }
    }
  }
  if (!problems.empty())
    throw InputError(std::move(problems));
  if (gemm.empty() && memory.empty() && launch.empty() && collectives.empty())
    throw std::invalid_argument("the measurements hold nothing to fit");
  Profile& p = out.profile;
  p.device = options.device ? options.device->name : join(devices);
  p.measured_on = {join(devices), join(drivers), join(cuda), join(nccl),
                   std::vector<std::string>(hosts.begin(), hosts.end())};
  p.description = "fitted by scaleplan calibrate fit";
  for (const auto& [dtype, points] : gemm)
    fit_gemm(dtype, points, options, out);
  if (!memory.empty())
    fit_memory(memory, memory_sources, memory_spreads, out);
  if (!launch.empty()) {
    const double m = median(launch);
    p.kernel_launch_overhead_s =
        Figure{m, "median of " + std::to_string(launch.size()) +
                      " launch measurements from: " + join(launch_sources)};
    out.lines.push_back({"launch", fmt::format("{:.2f} us", m * 1e6), std::nullopt});
  }
  for (const auto& [key, points] : collectives)
    fit_collective(key, points, out);
  check_readable(out.profile);
  return out;
}

std::string format_fit_report(const FitResult& result) {
  std::string text = "profile for " + result.profile.device + "\n";
  std::size_t width = 0;
  for (const FitLine& line : result.lines)
    width = std::max(width, line.what.size());
  for (const FitLine& line : result.lines) {
    text += "  " + line.what + std::string(width - line.what.size() + 2, ' ');
    if (line.quality) {
      const FitQuality& q = *line.quality;
      text += "R² " + fmt::format("{:.4f}", q.r_squared) + ", worst error " +
              fmt::format("{:.1f} %", 100 * q.worst_relative_error) + ", " +
              std::to_string(q.points) + " points";
      if (q.median_spread && q.worst_spread) {
        text += fmt::format(" (trials agree within {:.1f} %, worst {:.1f} %)",
                            100 * *q.median_spread, 100 * *q.worst_spread);
      }
      text += ": ";
    }
    text += line.summary + "\n";
  }
  return printable_text(text);
}

}  // namespace scaleplan
