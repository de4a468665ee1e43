// Where a sweep's rows go, as they finish: a CSV file, JSON lines, or an SQLite database, chosen
// by the file's extension. Every format holds the same columns (result_columns): the scenario's
// index, its status and error, every axis, and every metric. A row is in the file (written and
// flushed, or committed) when write() returns, so that a sweep killed at any moment and resumed
// loses no finished row and repeats none: resuming reads the rows back, checks that they are the
// sweep's, and drops a last line cut short.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sim/sweep/sweep_run.hpp"
#include "sim/sweep/sweep_spec.hpp"

namespace scaleplan::sweep {

enum class ResultFormat { csv, json_lines, sqlite };

// .csv; .jsonl, .ndjson or .json; .sqlite, .sqlite3 or .db. std::nullopt for anything else.
std::optional<ResultFormat> result_format_of(const std::filesystem::path& path);

// `value`: an axis's values, numbers or text as written (SQLite stores each as it is).
enum class ColumnType { integer, real, text, boolean, value };
struct Column {
  std::string name;
  ColumnType type;
};
// A value of a row; std::monostate where it has none (a failed scenario's metrics, a price the
// catalog lacks).
using Cell = std::variant<std::monostate, std::int64_t, double, std::string, bool>;

// index, status ("ok" or "failed"), error, each axis by its key, then the resolved device,
// devices, dp and micro-batches and the metrics (docs/sweep-format.md lists them with units).
std::vector<Column> result_columns(const Sweep& sweep);
// `row` as cells, aligned with result_columns. An axis's value is a number where it is one.
std::vector<Cell> result_cells(const SweepRow& row);
// An axis value as its cell: an integer or a number where it reads as one, text otherwise.
Cell axis_cell(const std::string& value);

class ResultStore {
 public:
  virtual ~ResultStore() = default;
  // Which scenarios the file already holds (by index; as long as the sweep).
  const std::vector<bool>& done() const { return done_; }
  std::size_t rows() const { return rows_; }
  // Appends a row; it is in the file when this returns. Throws std::runtime_error when the file
  // cannot be written (a full disk).
  virtual void write(const SweepRow& row) = 0;
  // Every scenario is done: CSV and JSON lines are rewritten in the sweep's order (by index), so
  // that a sweep gives the same file however its rows finished; SQLite is already ordered by its
  // key.
  virtual void complete() = 0;

 protected:
  std::vector<bool> done_;
  std::size_t rows_ = 0;
};

// Opens `path` for `sweep`'s rows. Without `resume` the file must not exist (an overnight result
// is not overwritten by mistake); with it, the rows already there are read and checked: a file
// of other columns, or a row whose axis values are not those of its scenario in the sweep, is an
// InputError naming the file and line (row). Throws InputError for an extension it does not know.
std::unique_ptr<ResultStore> open_results(const std::filesystem::path& path, const Sweep& sweep,
                                          bool resume);

}  // namespace scaleplan::sweep
