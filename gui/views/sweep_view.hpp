// A sweep's results: a table of rows (one per scenario of the sweep, a column per axis and per
// result), sortable and filtered by text, and a heat map of one result over two axes. Reads the
// CSV a sweep writes (a header line, then one line per row, commas between fields); any CSV of
// that shape will do. The heat map is a widget of its own that a report renders offscreen.
#pragma once

#include <array>

#include <QWidget>

class QComboBox;
class QLineEdit;
class QSortFilterProxyModel;
class QStandardItemModel;
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
  bool load_csv(const QString& path, QString* error = nullptr);
  // The rows as CSV text (for tests and the reports).
  bool load_csv_text(const QString& text, QString* error = nullptr);
  QStandardItemModel* model() const { return model_; }
  QSortFilterProxyModel* proxy() const { return proxy_; }
  HeatMap* heat_map() const { return heat_map_; }
  void set_heat_map_columns(int x, int y, int value);
  // The columns a table of results is best seen by: two axes (numbers taking 2 to 12 values),
  // and the first time, else the first other number, as the value.
  static std::array<int, 3> default_heat_map_columns(const QStandardItemModel& model);

 private:
  void refresh_heat_map();

  QStandardItemModel* model_;
  QSortFilterProxyModel* proxy_;
  QTableView* table_;
  QLineEdit* filter_;
  QComboBox* x_axis_;
  QComboBox* y_axis_;
  QComboBox* value_;
  QComboBox* aggregate_;
  HeatMap* heat_map_;
};

}  // namespace scaleplan::gui
