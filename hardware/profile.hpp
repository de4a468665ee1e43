// A calibration profile: what a device was measured to do, replacing the catalog's single
// efficiency figures with curves. GEMM efficiency per dtype as a function of shape (a measured
// table interpolated in log space over a least-squares model), memory bandwidth as latency plus
// bytes over bandwidth, kernel launch overhead, and an alpha-beta (latency, bus bandwidth) per
// collective, algorithm and group shape. Every figure carries its source and every fit its
// quality. The YAML format is documented in docs/calibration.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan {

// The collectives calibration measures (nccl-tests' set). hardware/ does not know the simulator's
// collective types; sim maps its own onto these.
enum class CollectiveOp {
  all_reduce,
  all_gather,
  reduce_scatter,
  all_to_all,
  broadcast,
  send_recv
};

inline constexpr EnumNames<CollectiveOp, 6> collective_op_names{{{
    {CollectiveOp::all_reduce, "all-reduce"},
    {CollectiveOp::all_gather, "all-gather"},
    {CollectiveOp::reduce_scatter, "reduce-scatter"},
    {CollectiveOp::all_to_all, "all-to-all"},
    {CollectiveOp::broadcast, "broadcast"},
    {CollectiveOp::send_recv, "send-recv"},
}}};

inline std::string_view to_string(CollectiveOp op) {
  return collective_op_names.name(op);
}

// The most ranks (and nodes) a measured collective spans: far beyond any cluster measured, and a
// bound every reader and the nccl-tests importer share, so that a count one of them accepts the
// others read back.
inline constexpr int max_collective_ranks = 1 << 24;

// nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md): busbw = algbw · factor, where algbw is
// the buffer size over the time. All-reduce 2(n-1)/n; all-gather, reduce-scatter and all-to-all
// (n-1)/n; broadcast and send/recv 1.
double bus_bandwidth_factor(CollectiveOp op, int ranks);

// A group shape as reports name it: "8 ranks / 1 node".
std::string group_text(int ranks, int nodes);

// How well a fit reproduces the points it was fitted to: R² of log(time) (fits minimise relative
// error, which is error in log time) and the worst relative error of a time.
struct FitQuality {
  double r_squared = 0;
  double worst_relative_error = 0;
  int points = 0;
  // How far the repeated trials of the points agreed (each point's range over its median), the
  // median and the worst over the points that recorded it: the noise of the measurements, beside
  // the fit's error. Absent where the measurements did not record it.
  std::optional<double> median_spread{};
  std::optional<double> worst_spread{};
};

// The largest GEMM dimension (m, n, k or batch) a measurement or a profile holds: what GEMM
// libraries take (cuBLAS and Eigen index with 32-bit ints); the readers of both share it.
inline constexpr std::int64_t max_gemm_dimension = (std::int64_t{1} << 31) - 1;

struct GemmDims {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t batch = 1;
};

double gemm_flops(const GemmDims& dims);

// time_s = fixed_s + flops / (peak_efficiency · peak) · (1 + m_half/m + n_half/n + k_half/k).
// A GEMM large in every dimension runs at peak_efficiency; one whose m equals m_half (the others
// large) runs at half of it. The m_half/m term is the cost of streaming B once per tile row,
// n_half/n of A, k_half/k of writing C, so the model is linear in its coefficients.
struct GemmModel {
  double fixed_s = 0;
  double peak_efficiency = 0;
  double m_half = 0;
  double n_half = 0;
  double k_half = 0;
};

struct GemmSample {
  GemmDims dims;
  double efficiency = 0;  // achieved FLOP/s over the profile's peak for the dtype
};

struct GemmProfile {
  Figure peak_flops_per_s;  // what efficiencies are fractions of
  GemmModel model;
  std::vector<GemmSample> table;
  // Table points further than this (Euclidean distance of log2 m, n, k, batch) leave a shape to
  // the model alone.
  double interpolation_radius_octaves = 2;
  std::string source;  // where the table and the fit come from
  std::optional<FitQuality> fit;

  // Efficiency of the model alone, and of the table interpolated over the model.
  double model_efficiency(const GemmDims& dims) const;
  double efficiency(const GemmDims& dims) const;
  double time_s(const GemmDims& dims) const;
  // The highest throughput the profile gives a GEMM: its peak times the larger of the model's
  // asymptote and the best table efficiency. At most the device's datasheet peak for the dtype
  // (times the sustained fraction) in a scenario that uses the profile.
  double highest_flops_per_s() const;
};

// One size regime of a collective or of streaming memory kernels: from `from_bytes` up to the
// next regime, time = latency_s + bytes · seconds_per_byte. NCCL changes protocol (LL, LL128,
// Simple), algorithm and channel count with the message size, and a CPU's streaming kernels run
// from its caches up to their size and from DRAM beyond, so one line rarely follows the whole
// curve.
struct CollectiveSegment {
  double from_bytes = 0;
  double latency_s = 0;
  double seconds_per_byte = 0;
};

// time_s = latency_s + bytes / bandwidth_bytes_per_s, for streaming kernels (bytes read plus
// written). A fitted profile may carry size regimes instead (a CPU's caches, then its DRAM): time
// then follows the regime of the size, latency_s is the first regime's and the bandwidth the
// last's (what the largest arrays reach).
struct BandwidthProfile {
  Figure bandwidth_bytes_per_s;
  Figure latency_s;
  std::optional<FitQuality> fit;
  std::vector<CollectiveSegment> segments;  // smallest first; empty: one line

  double time_s(double bytes) const;
};

// time_s = latency_s + bytes · bus_bandwidth_factor(op, ranks) / bus_bandwidth_bytes_per_s, where
// bytes is nccl-tests' size: the all-reduce buffer, the all-gather output, the reduce-scatter
// input, the all-to-all send buffer, the broadcast buffer, the send/recv message. A fitted
// profile may carry size regimes instead: time then follows the regime of the size, latency_s is
// the first regime's (what the smallest messages pay) and the bus bandwidth the last's (what the
// largest reach), which is how the simulator reads them.
struct CollectiveProfile {
  CollectiveOp op = CollectiveOp::all_reduce;
  std::string algorithm;  // as measured: "nccl" (NCCL's own choice), "ring", "mpi", ...
  int ranks = 0;
  int nodes = 0;
  Figure latency_s;
  Figure bus_bandwidth_bytes_per_s;
  std::optional<FitQuality> fit;
  // NICs per node of the cluster measured (groups over several nodes only); absent: the
  // scenario's cluster is taken to have as many as the one measured.
  std::optional<int> nics_per_node;
  std::vector<CollectiveSegment> segments;  // smallest first; empty: one line

  // The line that times `bytes`: its size regime (the first for sizes below it), or the one line
  // of a fit without regimes (seconds_per_byte: the bus-bandwidth factor over the bus bandwidth).
  CollectiveSegment regime(double bytes) const;
  double time_s(double bytes) const;
};

// Where the measurements were taken.
struct MeasuredOn {
  std::string device;
  std::string driver;
  std::string cuda;
  std::string nccl;
  std::vector<std::string> hosts;
};

// A step may sustain a little more than the benchmarks reached (a benchmark's own overheads), but
// not a multiple of it.
inline constexpr double max_sustained_gemm_fraction = 1.5;

struct Profile {
  std::string device;  // the catalog device this profile refines
  std::string description;
  MeasuredOn measured_on;
  std::map<Dtype, GemmProfile> gemm;
  std::optional<BandwidthProfile> memory;
  std::optional<Figure> kernel_launch_overhead_s;
  // The share of its measured GEMM throughput a training step sustains: isolated benchmarks run
  // at boost clocks with the GPU to themselves, a step's GEMMs at sustained-power clocks beside
  // communication kernels that take SMs. Fitted to measured steps (scaleplan calibrate
  // fit-steps); absent: 1.
  std::optional<Figure> sustained_gemm_fraction;
  std::vector<CollectiveProfile> collectives;

  // The fit for `op` on a group of `ranks` over `nodes` nodes: an exact (ranks, nodes) match if
  // there is one, else the same node count with the nearest rank count, else the nearest group.
  // nullptr when the profile has no fit for `op`.
  const CollectiveProfile* collective(CollectiveOp op, int ranks, int nodes) const;
  // The same choice among the fits measured over more than one node: what the inter-node
  // network delivers. nullptr when the profile has none for `op`.
  const CollectiveProfile* inter_node_collective(CollectiveOp op, int ranks, int nodes) const;
};

}  // namespace scaleplan
