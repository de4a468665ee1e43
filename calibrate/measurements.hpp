// Raw measurements: what the benchmark programs and the nccl-tests importer write, and what
// `scaleplan calibrate fit` and `compare` read. One file holds one or more runs; each run names
// the machine it ran on (device, driver, CUDA and NCCL versions, hosts) and lists its GEMM,
// memory, launch and collective timings. The format is documented in docs/calibration.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hardware/device_spec.hpp"
#include "hardware/profile.hpp"

namespace scaleplan {

struct Environment {
  std::string tool;     // the program that measured: "scaleplan-bench-gpu 0.1.0", "nccl-tests"
  std::string backend;  // cuda, nccl, cpu, mpi, nccl-tests, published
  std::string device;   // as the device reports itself ("NVIDIA H100 80GB HBM3")
  std::string driver;
  std::string cuda;
  std::string nccl;
  std::string mpi;
  std::string blas;  // "cuBLAS 12.4.5", "Eigen 3.4.0"
  std::vector<std::string> hosts;
};

// How far the trials of a measurement agreed (TrialAgreement): their range over their median,
// and how many trials were taken. Absent (trials 0) where the tool did not record it.
struct TrialSpread {
  double spread = 0;
  int trials = 0;
};

struct GemmMeasurement {
  Dtype dtype = Dtype::fp32;
  GemmDims dims;
  double time_s = 0;  // what the trials agree on (the median of repeats where trials is 0)
  int repeats = 0;
  TrialSpread agreement{};
};

// A streaming kernel: copy (a = b) or triad (a = b + s·c); bytes counts reads plus writes.
struct MemoryMeasurement {
  std::string kernel;
  double bytes = 0;
  double time_s = 0;
  int repeats = 0;
  TrialSpread agreement{};
};

// The cost of one empty kernel launched back to back.
struct LaunchMeasurement {
  std::string kernel;
  double time_s = 0;
  int repeats = 0;
  TrialSpread agreement{};
};

// One collective at one size, with nccl-tests' columns. bytes is nccl-tests' size (see
// CollectiveProfile). nccl-tests reports algbw and busbw rounded; time_s is what fits use.
struct CollectiveMeasurement {
  CollectiveOp op = CollectiveOp::all_reduce;
  std::string algorithm;  // "nccl" (NCCL's choice), "mpi", or a forced NCCL_ALGO value
  int ranks = 0;
  int nodes = 0;
  double bytes = 0;
  std::int64_t count = 0;  // elements
  std::string type;        // element type as the tool names it: float, half, bfloat16, ...
  std::string redop;       // sum, prod, ...; "none" for collectives that do not reduce
  int root = -1;           // -1: no root
  bool in_place = false;
  double time_s = 0;
  double algbw_bytes_per_s = 0;
  double busbw_bytes_per_s = 0;
  int repeats = 0;
  TrialSpread agreement{};
};

struct MeasurementRun {
  std::string source;  // where this run comes from (file, command line, publication)
  Environment environment;
  std::vector<GemmMeasurement> gemm;
  std::vector<MemoryMeasurement> memory;
  std::vector<LaunchMeasurement> launch;
  std::vector<CollectiveMeasurement> collectives;
};

struct Measurements {
  std::vector<MeasurementRun> runs;
};

// Throws InputError naming file, line and key, every error of the file at once.
Measurements parse_measurements(std::string_view yaml_text, const std::string& file_label);
Measurements load_measurements(const std::filesystem::path& path);
// Deterministic YAML that parse_measurements reads back to equal measurements.
std::string write_measurements(const Measurements& measurements);

}  // namespace scaleplan
