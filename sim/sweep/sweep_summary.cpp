#include "sim/sweep/sweep_summary.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hardware/input/yaml_reader.hpp"
#include "sim/sweep/sweep_csv.hpp"

namespace scaleplan::sweep {

namespace {

InputError table_error(const std::string& file, int line, std::string message) {
  return InputError({{{file, line, 0}, "", std::move(message)}});
}

// The columns of a results file: index, status, error, the axes, then "device" and the metrics.
std::vector<std::string> axes_of(const ResultTable& t) {
  const auto device = std::find(t.columns.begin(), t.columns.end(), "device");
  if (t.columns.size() < 4 || t.columns[0] != "index" || t.columns[1] != "status" ||
      t.columns[2] != "error" || device == t.columns.end() ||
      std::find(t.columns.begin(), t.columns.end(), "step_time_s") == t.columns.end()) {
    throw table_error(t.file, 1,
                      "not a sweep's results: expected the columns index, status, error, the "
                      "axes, device and the metrics (docs/sweep-format.md)");
  }
  return {t.columns.begin() + 3, device};
}

// Reads a CSV or JSON lines file into `t`, and the line each row is on into `lines`.
void read_lines(const std::filesystem::path& path, bool csv, ResultTable& t,
                std::vector<int>& lines) {
  const std::string text = read_results_file(path);
  std::size_t start = 0;
  int line = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    const std::string_view content(text.data() + start, end - start);
    start = end + 1;
    ++line;
    if (csv) {
      const auto fields = csv_fields(content);
      if (!fields)
        throw table_error(t.file, line, "not a CSV line (a quote is not closed)");
      if (line == 1) {
        t.columns = *fields;
        continue;
      }
      if (fields->size() != t.columns.size())
        throw table_error(
            t.file, line,
            fmt::format("{} fields where the header has {}", fields->size(), t.columns.size()));
      std::vector<Cell> row;
      for (const std::string& f : *fields) {
        if (f.empty())
          row.emplace_back(std::monostate{});
        else if (f == "true" || f == "false")
          row.emplace_back(f == "true");
        else
          row.push_back(axis_cell(f));
      }
      t.rows.push_back(std::move(row));
      lines.push_back(line);
    } else {
      nlohmann::ordered_json object;
      try {
        object = nlohmann::ordered_json::parse(content);
      } catch (const nlohmann::json::exception&) {
        throw table_error(t.file, line, "not a JSON object");
      }
      if (!object.is_object())
        throw table_error(t.file, line, "not a JSON object");
      if (t.columns.empty()) {
        for (const auto& item : object.items())
          t.columns.push_back(item.key());
      }
      std::vector<Cell> row;
      for (const std::string& column : t.columns) {
        if (!object.contains(column))
          throw table_error(t.file, line, "the row has no " + column);
        row.push_back(cell_of_json(object[column]));
      }
      t.rows.push_back(std::move(row));
      lines.push_back(line);
    }
  }
}

void read_sqlite(const std::filesystem::path& path, ResultTable& t) {
  sqlite3* db = nullptr;
  if (!std::filesystem::exists(path))
    throw table_error(t.file, 0, "no such file");
  if (sqlite3_open_v2(path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw table_error(t.file, 0, "cannot open the database");
  }
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT * FROM results ORDER BY \"index\"", -1, &q, nullptr) !=
      SQLITE_OK) {
    const std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw table_error(t.file, 0, "not a sweep's results: " + message);
  }
  for (int c = 0; c < sqlite3_column_count(q); ++c)
    t.columns.emplace_back(sqlite3_column_name(q, c));
  while (sqlite3_step(q) == SQLITE_ROW) {
    std::vector<Cell> row;
    for (int c = 0; c < sqlite3_column_count(q); ++c) {
      switch (sqlite3_column_type(q, c)) {
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(q, c)));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(sqlite3_column_double(q, c));
          break;
        case SQLITE_TEXT:
          row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, c))));
          break;
        default:
          row.emplace_back(std::monostate{});
      }
    }
    t.rows.push_back(std::move(row));
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
}

std::optional<double> number(const Cell& c) {
  if (const auto* i = std::get_if<std::int64_t>(&c))
    return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&c))
    return *d;
  return std::nullopt;
}

bool truth(const Cell& c) {
  if (const auto* b = std::get_if<bool>(&c))
    return *b;
  const auto n = number(c);  // SQLite keeps booleans as 0 and 1
  return n && *n != 0;
}

std::string text(const Cell& c) {
  if (const auto* s = std::get_if<std::string>(&c))
    return *s;
  if (const auto* i = std::get_if<std::int64_t>(&c))
    return fmt::format("{}", *i);
  if (const auto* d = std::get_if<double>(&c))
    return fmt::format("{}", *d);
  if (const auto* b = std::get_if<bool>(&c))
    return *b ? "true" : "false";
  return "";
}

// Values in the order they first appear (the sweep's order, for a file in scenario order).
std::vector<std::string> values_in_order(const std::vector<std::vector<Cell>>& rows,
                                         std::size_t column) {
  std::vector<std::string> values;
  for (const auto& row : rows) {
    std::string v = text(row[column]);
    if (std::find(values.begin(), values.end(), v) == values.end())
      values.push_back(std::move(v));
  }
  return values;
}

std::optional<std::size_t> find_column(const ResultTable& t, const std::string& name) {
  const auto it = std::find(t.columns.begin(), t.columns.end(), name);
  if (it == t.columns.end())
    return std::nullopt;
  return static_cast<std::size_t>(it - t.columns.begin());
}

// A row's cell in column `c`, empty where the file has no such column: read_results guarantees
// index, status, error, the axes and step_time_s, not the rest (a file written by hand or cut
// down).
const Cell& cell_at(const std::vector<Cell>& row, std::optional<std::size_t> c) {
  static const Cell empty;
  return c ? row[*c] : empty;
}

// What `report` and the plots rely on in every row: a status of ok or failed, the step time of a
// scenario that ran a positive number, `fits` (where the file has it) true or false. `lines`
// holds each row's line (text formats); SQLite rows are named by their index.
void check_rows(const ResultTable& t, const std::vector<int>& lines) {
  const std::size_t status = *find_column(t, "status");
  const std::size_t step = *find_column(t, "step_time_s");
  const std::optional<std::size_t> fits = find_column(t, "fits");
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const std::vector<Cell>& row = t.rows[r];
    const int line = r < lines.size() ? lines[r] : 0;
    const std::string where = line > 0 ? "" : fmt::format("the row of index {}: ", text(row[0]));
    const std::string state = text(row[status]);
    if (state != "ok" && state != "failed") {
      throw table_error(
          t.file, line,
          where + fmt::format("status: expected ok or failed, got '{}'", printable_text(state)));
    }
    const auto seconds = number(row[step]);
    if (state == "ok" && !(seconds && std::isfinite(*seconds) && *seconds > 0)) {
      throw table_error(
          t.file, line,
          where + fmt::format("step_time_s: a scenario that ran needs a positive step time, got "
                              "'{}'",
                              printable_text(text(row[step]))));
    }
    // Empty, a boolean, or SQLite's 0 or 1.
    const Cell& fit = cell_at(row, fits);
    const auto fit_number = number(fit);
    if (!std::holds_alternative<std::monostate>(fit) && !std::holds_alternative<bool>(fit) &&
        !(fit_number && (*fit_number == 0 || *fit_number == 1))) {
      throw table_error(
          t.file, line,
          where + fmt::format("fits: expected true or false, got '{}'", printable_text(text(fit))));
    }
  }
}

}  // namespace

ResultTable read_results(const std::filesystem::path& path) {
  ResultTable t;
  t.file = path.string();
  const auto format = result_format_of(path);
  if (!format) {
    throw table_error(t.file, 0,
                      "the extension does not say the format; use .csv, .jsonl (JSON lines) or "
                      ".sqlite");
  }
  std::vector<int> lines;
  if (*format == ResultFormat::sqlite)
    read_sqlite(path, t);
  else
    read_lines(path, *format == ResultFormat::csv, t, lines);
  t.axes = axes_of(t);
  check_rows(t, lines);
  return t;
}

namespace {

// The errors of the failed rows, most frequent first (ties in the order they first appear), so
// that a sweep whose every scenario failed says why without opening its file.
std::string failure_reasons(const std::vector<std::vector<Cell>>& rows, std::size_t status,
                            std::size_t error) {
  constexpr std::size_t shown = 5;
  std::vector<std::pair<std::string, std::size_t>> reasons;
  std::map<std::string, std::size_t> position;
  for (const auto& row : rows) {
    if (text(row[status]) == "ok")
      continue;
    const std::string message = text(row[error]);
    const auto [it, added] = position.emplace(message, reasons.size());
    if (added)
      reasons.emplace_back(message, 0);
    ++reasons[it->second].second;
  }
  if (reasons.empty())
    return {};
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = "why they failed, most frequent first\n";
  for (std::size_t i = 0; i < std::min(shown, reasons.size()); ++i) {
    out += fmt::format(
        "  {:>8} x  {}\n", reasons[i].second,
        reasons[i].first.empty() ? "(no error recorded)" : printable_text(reasons[i].first));
  }
  if (reasons.size() > shown) {
    std::size_t rest = 0;
    for (std::size_t i = shown; i < reasons.size(); ++i)
      rest += reasons[i].second;
    out += fmt::format("  {:>8} x  for {} other reasons (the error column of each row)\n", rest,
                       reasons.size() - shown);
  }
  return out;
}

}  // namespace

std::string format_summary(const ResultTable& t) {
  const std::size_t status = *find_column(t, "status");
  const std::size_t step = *find_column(t, "step_time_s");
  const std::size_t index = *find_column(t, "index");
  const std::optional<std::size_t> mfu = find_column(t, "mfu");
  const std::optional<std::size_t> fits = find_column(t, "fits");
  std::vector<const std::vector<Cell>*> fitting;
  std::size_t ok = 0;
  for (const auto& row : t.rows) {
    if (text(row[status]) != "ok")
      continue;
    ++ok;
    if (truth(cell_at(row, fits)) && number(row[step]))
      fitting.push_back(&row);
  }
  std::string out =
      fmt::format("{}: {} scenarios, {} ok ({} fit in memory), {} failed\n", printable_text(t.file),
                  t.rows.size(), ok, fitting.size(), t.rows.size() - ok);
  out += failure_reasons(t.rows, status, *find_column(t, "error"));
  if (fitting.empty())
    return out + "no scenario fits: nothing to rank\n";
  const auto faster = [&](const std::vector<Cell>* a, const std::vector<Cell>* b) {
    return *number((*a)[step]) < *number((*b)[step]);
  };
  const auto describe = [&](const std::vector<Cell>& row, std::size_t except) {
    std::string values;
    for (std::size_t a = 0; a < t.axes.size(); ++a) {
      if (3 + a == except)
        continue;
      values += fmt::format("{}{} {}", values.empty() ? "" : ", ", t.axes[a], text(row[3 + a]));
    }
    return fmt::format("step {:.4g} s, MFU {:.1f} %{}", *number(row[step]),
                       100 * number(cell_at(row, mfu)).value_or(0),
                       values.empty() ? "" : "  (" + values + ")");
  };
  const auto& best = **std::min_element(fitting.begin(), fitting.end(), faster);
  out += fmt::format("\nfastest that fits: scenario {}, {}\n", text(best[index]),
                     describe(best, t.columns.size()));

  out += "\nfastest that fits, for each value of each axis\n";
  struct Sensitivity {
    std::string axis;
    double ratio;
    std::string fastest, slowest;
  };
  std::vector<Sensitivity> sensitivities;
  for (std::size_t a = 0; a < t.axes.size(); ++a) {
    const std::size_t c = 3 + a;
    out += fmt::format("  {}\n", printable_text(t.axes[a]));
    std::vector<std::pair<std::string, double>> means;
    for (const std::string& value : values_in_order(t.rows, c)) {
      const std::vector<Cell>* fastest = nullptr;
      double sum = 0;
      std::size_t count = 0;
      for (const auto* row : fitting) {
        if (text((*row)[c]) != value)
          continue;
        sum += *number((*row)[step]);
        ++count;
        if (fastest == nullptr || faster(row, fastest))
          fastest = row;
      }
      out += fmt::format("    {:<16} {}\n", printable_text(value),
                         fastest != nullptr ? describe(*fastest, c) : "no scenario fits");
      if (count > 0)
        means.emplace_back(value, sum / static_cast<double>(count));
    }
    if (means.size() >= 2) {
      const auto [low, high] =
          std::minmax_element(means.begin(), means.end(),
                              [](const auto& x, const auto& y) { return x.second < y.second; });
      sensitivities.push_back({t.axes[a], high->second / low->second, low->first, high->first});
    }
  }
  std::stable_sort(sensitivities.begin(), sensitivities.end(),
                   [](const Sensitivity& x, const Sensitivity& y) { return x.ratio > y.ratio; });
  out +=
      "\nsensitivity of step time to each axis: slowest over fastest mean step time across "
      "its values (scenarios that fit)\n";
  for (const Sensitivity& s : sensitivities) {
    out += fmt::format("  {:<28} {:.3g}x  (fastest {}, slowest {})\n", printable_text(s.axis),
                       s.ratio, printable_text(s.fastest), printable_text(s.slowest));
  }
  return out;
}

namespace {

const char* metric_column(SweepMetric metric) {
  switch (metric) {
    case SweepMetric::step_time:
      return "step_time_s";
    case SweepMetric::throughput:
      return "tokens_per_s";
    case SweepMetric::mfu:
      return "mfu";
    case SweepMetric::cost:
      return "usd_per_step";
  }
  return "step_time_s";
}

}  // namespace

std::vector<std::size_t> sweep_fitting_rows(const ResultTable& t) {
  const auto status = find_column(t, "status");
  const auto fits = find_column(t, "fits");
  std::vector<std::size_t> rows;
  if (!status || !fits)
    return rows;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (text(t.rows[r][*status]) == "ok" && truth(t.rows[r][*fits]))
      rows.push_back(r);
  }
  return rows;
}

std::string sweep_metric_name(SweepMetric metric) {
  switch (metric) {
    case SweepMetric::step_time:
      return "step time";
    case SweepMetric::throughput:
      return "throughput";
    case SweepMetric::mfu:
      return "MFU";
    case SweepMetric::cost:
      return "cost";
  }
  return "";
}

bool lower_is_better(SweepMetric metric) {
  return metric == SweepMetric::step_time || metric == SweepMetric::cost;
}

std::optional<double> sweep_metric_value(const ResultTable& t, const std::vector<Cell>& row,
                                         SweepMetric metric) {
  const auto column = find_column(t, metric_column(metric));
  if (!column || *column >= row.size())
    return std::nullopt;
  return number(row[*column]);
}

bool has_sweep_metric(const ResultTable& t, SweepMetric metric) {
  for (std::size_t r : sweep_fitting_rows(t)) {
    if (sweep_metric_value(t, t.rows[r], metric))
      return true;
  }
  return false;
}

SweepAxisSeries sweep_axis_series(const ResultTable& t, std::size_t axis, SweepMetric metric) {
  SweepAxisSeries series;
  series.axis = t.axes.at(axis);
  series.metric = metric;
  const std::size_t c = 3 + axis;  // index, status, error, then the axes
  const std::vector<std::size_t> fitting = sweep_fitting_rows(t);
  std::vector<bool> fits(t.rows.size(), false);
  for (std::size_t r : fitting)
    fits[r] = true;
  std::map<std::string, std::size_t> point_of;
  std::vector<double> numbers;  // each point's value as a number, where it is one
  std::vector<double> sums;     // of the metric over the scenarios that fit
  series.numeric = !t.rows.empty();
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const Cell& cell = t.rows[r][c];
    series.numeric = series.numeric && number(cell).has_value();
    auto [it, added] = point_of.try_emplace(text(cell), series.points.size());
    if (added) {
      series.points.push_back({text(cell), std::nullopt, std::nullopt, 0, 0});
      numbers.push_back(number(cell).value_or(0));
      sums.push_back(0);
    }
    SweepAxisPoint& point = series.points[it->second];
    ++point.scenarios;
    const auto value = fits[r] ? sweep_metric_value(t, t.rows[r], metric) : std::nullopt;
    if (!value)
      continue;
    sums[it->second] += *value;
    ++point.fitting;
    point.mean = sums[it->second] / static_cast<double>(point.fitting);
    point.best = !point.best               ? *value
                 : lower_is_better(metric) ? std::min(*point.best, *value)
                                           : std::max(*point.best, *value);
  }
  if (series.numeric) {
    std::vector<std::pair<double, std::size_t>> order;
    for (std::size_t p = 0; p < series.points.size(); ++p)
      order.emplace_back(numbers[p], p);
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<SweepAxisPoint> sorted;
    for (const auto& [value, p] : order)
      sorted.push_back(std::move(series.points[p]));
    series.points = std::move(sorted);
  }
  return series;
}

SweepCostPoints sweep_cost_points(const ResultTable& t) {
  SweepCostPoints points;
  const std::vector<std::size_t> fitting = sweep_fitting_rows(t);
  const auto devices = find_column(t, "devices");
  points.usd = !fitting.empty();
  for (std::size_t r : fitting)
    points.usd = points.usd && sweep_metric_value(t, t.rows[r], SweepMetric::cost).has_value();
  for (std::size_t r : fitting) {
    const auto step = sweep_metric_value(t, t.rows[r], SweepMetric::step_time);
    const auto count = devices ? number(t.rows[r][*devices]) : std::nullopt;
    const auto cost = points.usd      ? sweep_metric_value(t, t.rows[r], SweepMetric::cost)
                      : step && count ? std::optional(*count * *step / 3600)
                                      : std::nullopt;
    if (!step || !cost)
      continue;
    points.step_time_s.push_back(*step);
    points.cost.push_back(*cost);
    points.rows.push_back(r);
  }
  return points;
}

}  // namespace scaleplan::sweep
