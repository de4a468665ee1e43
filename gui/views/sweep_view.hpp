// A sweep's results: a table of rows (one per scenario of the sweep, a column per axis and per
// result), sortable and filtered by text; a heat map of one result over two axes; a metric
// against an axis, and step time against cost with its Pareto front (the charts of
// gui/views/charts.hpp that `scaleplan report` renders offscreen: one chart code path). Reads a
// sweep's results in any of its formats (CSV, JSON lines, SQLite: sweep::read_results); any other
// CSV with a header line shows as a table and a heat map, without the sweep's charts.
#pragma once

#include <array>
#include <optional>

#include <QWidget>

#include "sim/sweep/sweep_summary.hpp"

class QComboBox;
class QLineEdit;
class QChartView;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTabWidget;
class QTableView;

namespace scaleplan::gui {

// How the rows that share a cell make its value.
enum class Aggregate { minimum, mean, maximum };

// The heat map: `value` aggregated over the rows at each pair of distinct `x` and `y` values of
// a table, coloured from its lowest (blue) to its highest (red) cell.
class HeatMap final : public QWidget {
  Q_OBJECT

 public:
  explicit HeatMap(QWidget* parent = nullptr);
  void set_data(const QStandardItemModel* model, int x_column, int y_column, int value_column,
                Aggregate aggregate = Aggregate::minimum);
  QSize sizeHint() const override { return {600, 400}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  const QStandardItemModel* model_ = nullptr;
  int x_ = -1, y_ = -1, value_ = -1;
  Aggregate aggregate_ = Aggregate::minimum;
};

class SweepView final : public QWidget {
  Q_OBJECT

 public:
  explicit SweepView(QWidget* parent = nullptr);
  // A sweep's results file (.csv, .jsonl, .sqlite), or failing that any CSV with a header line.
  bool load_results(const QString& path, QString* error = nullptr);
  void set_results(sweep::ResultTable table);
  // Any CSV with a header line: the table and the heat map, no sweep charts.
  bool load_csv(const QString& path, QString* error = nullptr);
  bool load_csv_text(const QString& text, QString* error = nullptr);
  // The sweep's results, when what is shown is a sweep's.
  const std::optional<sweep::ResultTable>& results() const { return results_; }
  QStandardItemModel* model() const { return model_; }
  QSortFilterProxyModel* proxy() const { return proxy_; }
  HeatMap* heat_map() const { return heat_map_; }
  void set_heat_map_columns(int x, int y, int value);
  // The lower pane's pages: "heat map", "by axis", "time and cost".
  void show_page(const QString& name);
  // The chart by axis: which axis (an index into results()->axes) and metric.
  void set_axis_chart(std::size_t axis, sweep::SweepMetric metric);
  QChartView* axis_chart() const { return axis_chart_; }
  QChartView* cost_chart() const { return cost_chart_; }
  // The columns a table of results is best seen by: two axes (numbers taking 2 to 12 values),
  // and the first time, else the first other number, as the value.
  static std::array<int, 3> default_heat_map_columns(const QStandardItemModel& model);

 private:
  void refresh_heat_map();
  void refresh_charts();
  void after_load();

  std::optional<sweep::ResultTable> results_;
  QStandardItemModel* model_;
  QSortFilterProxyModel* proxy_;
  QTableView* table_;
  QLineEdit* filter_;
  QComboBox* x_axis_;
  QComboBox* y_axis_;
  QComboBox* value_;
  QComboBox* aggregate_;
  HeatMap* heat_map_;
  QTabWidget* pages_;
  QComboBox* chart_axis_;
  QComboBox* chart_metric_;
  QChartView* axis_chart_;
  QChartView* cost_chart_;
};

}  // namespace scaleplan::gui
