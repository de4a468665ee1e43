#include "calibrate/compare.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

namespace {

std::string time_text(double s) {
  if (s < 1e-3)
    return fmt::format("{:.2f} us", s * 1e6);
  if (s < 1)
    return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

}  // namespace

Comparison compare_profile(const Profile& profile, const Measurements& measurements) {
  Comparison out;
  std::set<std::string> unmatched;
  for (const MeasurementRun& run : measurements.runs) {
    for (const GemmMeasurement& g : run.gemm) {
      auto it = profile.gemm.find(g.dtype);
      if (it == profile.gemm.end()) {
        unmatched.insert("gemm " + std::string(to_string(g.dtype)) + ": the profile has no fit");
        continue;
      }
      const GemmProfile& p = it->second;
      ComparisonRow row;
      row.kind = "gemm";
      row.point = std::string(to_string(g.dtype)) + " " + std::to_string(g.dims.m) + "x" +
                  std::to_string(g.dims.n) + "x" + std::to_string(g.dims.k) +
                  (g.dims.batch > 1 ? " batch " + std::to_string(g.dims.batch) : "");
      row.measured_s = g.time_s;
      row.predicted_s = p.time_s(g.dims);
      row.model_only_s =
          gemm_flops(g.dims) / (p.model_efficiency(g.dims) * p.peak_flops_per_s.value);
      out.rows.push_back(row);
    }
    for (const MemoryMeasurement& m : run.memory) {
      if (!profile.memory) {
        unmatched.insert("memory: the profile has no bandwidth fit");
        continue;
      }
      out.rows.push_back({"memory", m.kernel + " " + format_bytes(m.bytes), m.time_s,
                          profile.memory->time_s(m.bytes), std::nullopt});
    }
    for (const LaunchMeasurement& l : run.launch) {
      if (!profile.kernel_launch_overhead_s) {
        unmatched.insert("launch: the profile has no launch overhead");
        continue;
      }
      out.rows.push_back(
          {"launch", l.kernel, l.time_s, profile.kernel_launch_overhead_s->value, std::nullopt});
    }
    for (const CollectiveMeasurement& c : run.collectives) {
      const CollectiveProfile* fit = profile.collective(c.op, c.ranks, c.nodes);
      if (!fit) {
        unmatched.insert(std::string(to_string(c.op)) + ": the profile has no fit");
        continue;
      }
      std::string point = std::string(to_string(c.op)) + " " + group_text(c.ranks, c.nodes) + " " +
                          format_bytes(c.bytes) + (c.in_place ? " in-place" : "");
      if (fit->ranks != c.ranks || fit->nodes != c.nodes)
        point += " (fit for " + group_text(fit->ranks, fit->nodes) + ")";
      out.rows.push_back({"collective", point, c.time_s, fit->time_s(c.bytes), std::nullopt});
    }
  }
  out.unmatched.assign(unmatched.begin(), unmatched.end());
  for (const ComparisonRow& row : out.rows) {
    auto it = std::find_if(out.summaries.begin(), out.summaries.end(),
                           [&](const ComparisonSummary& s) { return s.kind == row.kind; });
    if (it == out.summaries.end()) {
      out.summaries.push_back({row.kind, 0, 0, 0});
      it = out.summaries.end() - 1;
    }
    ++it->points;
    it->worst_abs_error = std::max(it->worst_abs_error, std::abs(row.relative_error()));
  }
  for (ComparisonSummary& s : out.summaries) {
    std::vector<double> errors;
    for (const ComparisonRow& row : out.rows) {
      if (row.kind == s.kind)
        errors.push_back(std::abs(row.relative_error()));
    }
    std::sort(errors.begin(), errors.end());
    const std::size_t n = errors.size();
    s.median_abs_error = n % 2 ? errors[n / 2] : (errors[n / 2 - 1] + errors[n / 2]) / 2;
  }
  return out;
}

std::string format_comparison(const Comparison& c) {
  std::size_t width = 5;
  for (const ComparisonRow& row : c.rows)
    width = std::max(width, row.kind.size() + 1 + row.point.size());
  auto pad = [](std::string text, std::size_t to) {
    return text + std::string(to > text.size() ? to - text.size() : 0, ' ');
  };
  std::string text = pad("point", width) + "  " + pad("measured", 12) + pad("predicted", 12) +
                     pad("error", 10) + "model only\n";
  for (const ComparisonRow& row : c.rows) {
    text += pad(row.kind + " " + row.point, width) + "  " + pad(time_text(row.measured_s), 12) +
            pad(time_text(row.predicted_s), 12) +
            pad(fmt::format("{:+.1f} %", 100 * row.relative_error()), 10);
    if (row.model_only_s) {
      text +=
          time_text(*row.model_only_s) +
          fmt::format(" ({:+.1f} %)", 100 * (*row.model_only_s - row.measured_s) / row.measured_s);
    }
    text += "\n";
  }
  text += "\n";
  for (const ComparisonSummary& s : c.summaries) {
    text += s.kind + ": " + std::to_string(s.points) + " points, median |error| " +
            fmt::format("{:.1f} %", 100 * s.median_abs_error) + ", worst " +
            fmt::format("{:.1f} %", 100 * s.worst_abs_error) + "\n";
  }
  for (const std::string& u : c.unmatched)
    text += "not compared: " + u + "\n";
  return printable_text(text);
}

}  // namespace scaleplan
