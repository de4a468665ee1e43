// Reads the text that nccl-tests (all_reduce_perf and friends) prints and turns its result table
// into collective measurements: size, count, type, redop, root, and time, algbw and busbw for the
// out-of-place and the in-place run of every row.
//
// The collective comes from the binary name found in the output (the command line an mpirun
// wrapper echoes, or nccl-tests' own header), unless the caller names it. The number of ranks
// and nodes comes from the "# Using devices" lines (one per rank, with its host), else from the
// caller, else from the -g/-t flags of a single-process command line. Every row is checked: its
// column count, its numbers, algbw against size/time, and busbw/algbw against the bus-bandwidth
// factor of the collective for that many ranks, so a garbled or misattributed file fails with
// the file, the line and what was expected.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/measurements.hpp"

namespace scaleplan {

struct NcclTestsImportOptions {
  std::optional<CollectiveOp> collective;  // overrides the binary name
  std::optional<int> ranks;                // used when there are no "# Using devices" lines
  std::optional<int> nodes;                // likewise; default 1
  std::string algorithm = "nccl";          // NCCL's own choice unless NCCL_ALGO forced one
};

struct NcclTestsImport {
  MeasurementRun run;
  std::vector<std::string> warnings;  // "file: message", for output that looks incomplete
};

// Throws InputError (file:line: what was expected) on output it cannot read.
NcclTestsImport import_nccl_tests(std::string_view text, const std::string& file_label,
                                  const NcclTestsImportOptions& options);
NcclTestsImport import_nccl_tests_file(const std::filesystem::path& path,
                                       const NcclTestsImportOptions& options);

// nccl-tests' binary base name ("all_reduce", "alltoall", ...) to the collective it measures.
std::optional<CollectiveOp> nccl_tests_collective(std::string_view binary);

}  // namespace scaleplan
