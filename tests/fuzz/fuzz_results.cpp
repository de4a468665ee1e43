// libFuzzer target: `scaleplan report`'s reader of a sweep's results (sim/sweep/sweep_summary.hpp).
// The first byte picks the format (odd: CSV, even: JSON lines), the rest is the file. Any input
// must either read or throw InputError; a table that reads is summarised, and every axis's series
// of every metric and the cost points are drawn from it, as report and its plots do, without any
// other exception.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "hardware/input/diagnostics.hpp"
#include "sim/sweep/sweep_summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  if (size == 0)
    return 0;
  // read_results reads files by their extension; one scratch file per process.
  const auto path = std::filesystem::temp_directory_path() /
                    ("scaleplan-fuzz-results-" + std::to_string(::getpid()) +
                     (data[0] % 2 == 1 ? ".csv" : ".jsonl"));
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  try {
    const sweep::ResultTable table = sweep::read_results(path);
    (void)sweep::format_summary(table);
    for (std::size_t axis = 0; axis < table.axes.size(); ++axis) {
      for (const sweep::SweepMetric metric : sweep::sweep_metrics)
        (void)sweep::sweep_axis_series(table, axis, metric);
    }
    (void)sweep::sweep_cost_points(table);
  } catch (const InputError&) {
  }
  std::filesystem::remove(path);
  return 0;
}
