#include "hardware/profile.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

double bus_bandwidth_factor(CollectiveOp op, int ranks) {
  const double n = ranks;
  switch (op) {
    case CollectiveOp::all_reduce:
      return 2 * (n - 1) / n;
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter:
    case CollectiveOp::all_to_all:
      return (n - 1) / n;
    case CollectiveOp::broadcast:
    case CollectiveOp::send_recv:
      return 1;
  }
  return 1;
}

double gemm_flops(const GemmDims& d) {
  return 2.0 * static_cast<double>(d.m) * static_cast<double>(d.n) * static_cast<double>(d.k) *
         static_cast<double>(d.batch);
}

namespace {

void check_dims(const GemmDims& d) {
  if (d.m <= 0 || d.n <= 0 || d.k <= 0 || d.batch <= 0) {
    throw std::invalid_argument("GEMM dimensions must be positive, got m " + std::to_string(d.m) +
                                ", n " + std::to_string(d.n) + ", k " + std::to_string(d.k) +
                                ", batch " + std::to_string(d.batch));
  }
}

double log2_distance(const GemmDims& a, const GemmDims& b) {
  auto term = [](std::int64_t x, std::int64_t y) {
    const double t = std::log2(static_cast<double>(x)) - std::log2(static_cast<double>(y));
    return t * t;
  };
  return std::sqrt(term(a.m, b.m) + term(a.n, b.n) + term(a.k, b.k) + term(a.batch, b.batch));
}

}  // namespace

double GemmProfile::model_efficiency(const GemmDims& d) const {
  check_dims(d);
  const double flops = gemm_flops(d);
  const double shape_factor = 1 + model.m_half / static_cast<double>(d.m) +
                              model.n_half / static_cast<double>(d.n) +
                              model.k_half / static_cast<double>(d.k);
  const double time_s =
      model.fixed_s + flops * shape_factor / (model.peak_efficiency * peak_flops_per_s.value);
  return flops / (time_s * peak_flops_per_s.value);
}

// Modified Shepard interpolation of the table's log(measured / model) ratios: weights
// ((R - d) / (R d))² vanish at the radius R, so the correction fades continuously into the
// model, and grow without bound at a table point, which is reproduced exactly. The model itself
// takes part with the weight of a point at R/2, so one distant neighbour cannot pull a shape all
// the way to its own ratio.
double GemmProfile::efficiency(const GemmDims& d) const {
  const double base = model_efficiency(d);
  const double radius = interpolation_radius_octaves;
  double weight_sum = 1 / (radius * radius);
  double weighted_log_ratio = 0;
  for (const GemmSample& s : table) {
    const double distance = log2_distance(d, s.dims);
    if (distance == 0)
      return s.efficiency;
    if (distance >= radius)
      continue;
    const double w = std::pow((radius - distance) / (radius * distance), 2);
    weight_sum += w;
    weighted_log_ratio += w * std::log(s.efficiency / model_efficiency(s.dims));
  }
  return base * std::exp(weighted_log_ratio / weight_sum);
}

double GemmProfile::time_s(const GemmDims& d) const {
  return gemm_flops(d) / (efficiency(d) * peak_flops_per_s.value);
}

double GemmProfile::highest_flops_per_s() const {
  double best = model.peak_efficiency;
  for (const GemmSample& s : table)
    best = std::max(best, s.efficiency);
  return best * peak_flops_per_s.value;
}

namespace {

// The last regime that starts at or below the size; sizes below the first take the first.
const CollectiveSegment& size_regime(const std::vector<CollectiveSegment>& segments, double bytes) {
  auto regime = std::upper_bound(
      segments.begin(), segments.end(), bytes,
      [](double b, const CollectiveSegment& segment) { return b < segment.from_bytes; });
  return regime == segments.begin() ? segments.front() : *std::prev(regime);
}

double regime_time_s(const std::vector<CollectiveSegment>& segments, double bytes) {
  const CollectiveSegment& s = size_regime(segments, bytes);
  return s.latency_s + bytes * s.seconds_per_byte;
}

}  // namespace

double BandwidthProfile::time_s(double bytes) const {
  if (!segments.empty())
    return regime_time_s(segments, bytes);
  return latency_s.value + bytes / bandwidth_bytes_per_s.value;
}

std::string group_text(int ranks, int nodes) {
  return counted(ranks, "rank") + " / " + counted(nodes, "node");
}

CollectiveSegment CollectiveProfile::regime(double bytes) const {
  if (segments.empty()) {
    return {0, latency_s.value, bus_bandwidth_factor(op, ranks) / bus_bandwidth_bytes_per_s.value};
  }
  return size_regime(segments, bytes);
}

double CollectiveProfile::time_s(double bytes) const {
  if (segments.empty()) {
    return latency_s.value +
           bytes * bus_bandwidth_factor(op, ranks) / bus_bandwidth_bytes_per_s.value;
  }
  return regime_time_s(segments, bytes);
}

namespace {

// The fit for `op` nearest to (ranks, nodes) among those `eligible` accepts.
template <typename Eligible>
const CollectiveProfile* nearest_collective(const std::vector<CollectiveProfile>& collectives,
                                            CollectiveOp op, int ranks, int nodes,
                                            Eligible eligible) {
  const CollectiveProfile* best = nullptr;
  auto distance = [&](const CollectiveProfile& c) {
    // Node count first (crossing the network changes everything), then rank count in octaves;
    // ties keep the earlier entry, so the choice is deterministic.
    return std::pair{std::abs(c.nodes - nodes),
                     std::abs(std::log2(static_cast<double>(c.ranks) / ranks))};
  };
  for (const CollectiveProfile& c : collectives) {
    if (c.op != op || !eligible(c))
      continue;
    if (!best || distance(c) < distance(*best))
      best = &c;
  }
  return best;
}

}  // namespace

const CollectiveProfile* Profile::collective(CollectiveOp op, int ranks, int nodes) const {
  return nearest_collective(collectives, op, ranks, nodes,
                            [](const CollectiveProfile&) { return true; });
}

const CollectiveProfile* Profile::inter_node_collective(CollectiveOp op, int ranks,
                                                        int nodes) const {
  return nearest_collective(collectives, op, ranks, nodes,
                            [](const CollectiveProfile& c) { return c.nodes > 1; });
}

}  // namespace scaleplan
