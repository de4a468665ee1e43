#include "sim/collective/collective_calibration.hpp"

#include <algorithm>
#include <utility>

#include "sim/collective/collective_detail.hpp"

namespace scaleplan {

CollectiveOp measured_op(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::all_reduce:
      return CollectiveOp::all_reduce;
    case CollectiveKind::reduce_scatter:
      return CollectiveOp::reduce_scatter;
    case CollectiveKind::all_gather:
      return CollectiveOp::all_gather;
    case CollectiveKind::all_to_all:
      return CollectiveOp::all_to_all;
    case CollectiveKind::broadcast:
      return CollectiveOp::broadcast;
  }
  return CollectiveOp::all_reduce;
}

CollectiveGroupShape group_shape(const std::vector<int>& devices, const Topology& topology) {
  const std::vector<std::vector<int>> nodes = collective_detail::members_by_node(devices, topology);
  return {static_cast<int>(devices.size()), static_cast<int>(nodes.size()),
          collective_detail::uniform_members_per_node(nodes).has_value()};
}

namespace {

// A fit's two terms for a size: its regime's latency, and the seconds its regime takes per byte
// of bus traffic (seconds per byte of nccl-tests' size over the bus-bandwidth factor of the
// group measured), which a ring keeps whatever its rank count.
struct FitTerms {
  double latency_s = 0;
  double seconds_per_bus_byte = 0;
};

FitTerms terms_of(const CollectiveProfile& fit, double bytes) {
  const CollectiveSegment line = fit.regime(bytes);
  return {line.latency_s, line.seconds_per_byte / bus_bandwidth_factor(fit.op, fit.ranks)};
}

std::string fit_name(const CollectiveProfile& fit) {
  return "fit " + fit.algorithm + " " + group_text(fit.ranks, fit.nodes);
}

// The fits nearest below and above a rank count on one interpolation line.
struct Bracket {
  const CollectiveProfile* lower = nullptr;
  const CollectiveProfile* upper = nullptr;
};

// Among the fits of `op` that `on_line` accepts, the nearest on either side of `ranks`; the first
// in the profile's order among equals.
template <typename OnLine>
Bracket bracket(const std::vector<CollectiveProfile>& fits, CollectiveOp op, int ranks,
                OnLine on_line) {
  Bracket b;
  for (const CollectiveProfile& fit : fits) {
    if (fit.op != op || !on_line(fit))
      continue;
    if (fit.ranks < ranks && (!b.lower || fit.ranks > b.lower->ranks))
      b.lower = &fit;
    else if (fit.ranks > ranks && (!b.upper || fit.ranks < b.upper->ranks))
      b.upper = &fit;
  }
  return b;
}

}  // namespace

CollectiveCalibration::CollectiveCalibration(std::vector<CollectiveProfile> fits)
    : fits_(std::move(fits)) {}

CollectiveFitOutcome CollectiveCalibration::time(CollectiveOp op, const CollectiveGroupShape& shape,
                                                 double bytes) const {
  const std::string kind(to_string(op));
  if (std::none_of(fits_.begin(), fits_.end(),
                   [&](const CollectiveProfile& fit) { return fit.op == op; }))
    return {std::nullopt, "no " + kind + " fit in the profile"};
  if (shape.nodes > 1 && !shape.same_ranks_per_node) {
    return {std::nullopt,
            "its ranks are spread unevenly over its nodes, unlike the " + kind + " fits measured"};
  }
  for (const CollectiveProfile& fit : fits_) {
    if (fit.op == op && fit.ranks == shape.ranks && fit.nodes == shape.nodes) {
      const FitTerms t = terms_of(fit, bytes);
      return {FittedCollectiveTime{t.latency_s, bytes * bus_bandwidth_factor(op, shape.ranks) *
                                                    t.seconds_per_bus_byte},
              fit_name(fit)};
    }
  }
  // The same nodes with rank counts on either side; else, over several nodes, the same ranks per
  // node with node counts on either side. The rank count is the interpolation variable on both.
  Bracket b = bracket(fits_, op, shape.ranks,
                      [&](const CollectiveProfile& f) { return f.nodes == shape.nodes; });
  if (!(b.lower && b.upper) && shape.nodes > 1 && shape.ranks % shape.nodes == 0) {
    const int per_node = shape.ranks / shape.nodes;
    b = bracket(fits_, op, shape.ranks, [&](const CollectiveProfile& f) {
      return f.nodes > 1 && f.ranks == per_node * f.nodes;
    });
  }
  if (!(b.lower && b.upper)) {
    std::string measured;
    for (const CollectiveProfile& fit : fits_) {
      if (fit.op == op)
        measured += (measured.empty() ? "" : ", ") + group_text(fit.ranks, fit.nodes);
    }
    return {std::nullopt, "beyond the " + kind + " fits, measured on " + measured};
  }
  const double weight = static_cast<double>(shape.ranks - b.lower->ranks) /
                        static_cast<double>(b.upper->ranks - b.lower->ranks);
  const FitTerms lower = terms_of(*b.lower, bytes), upper = terms_of(*b.upper, bytes);
  const double latency_s = (1 - weight) * lower.latency_s + weight * upper.latency_s;
  const double seconds_per_bus_byte =
      (1 - weight) * lower.seconds_per_bus_byte + weight * upper.seconds_per_bus_byte;
  return {FittedCollectiveTime{
              latency_s, bytes * bus_bandwidth_factor(op, shape.ranks) * seconds_per_bus_byte},
          "between the " + fit_name(*b.lower) + " and the " + fit_name(*b.upper)};
}

}  // namespace scaleplan
