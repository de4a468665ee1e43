#include "gui/views/sweep_view.hpp"

#include <algorithm>
#include <map>

#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <QtCharts/QChartView>

#include "gui/models/sweep_results.hpp"
#include "gui/views/charts.hpp"
#include "hardware/input/diagnostics.hpp"

namespace scaleplan::gui {
namespace {

// Splits one CSV line; a field in double quotes may hold commas and doubled quotes.
QStringList split_csv(const QString& line) {
  QStringList fields;
  QString field;
  bool quoted = false;
  for (qsizetype i = 0; i < line.size(); ++i) {
    const QChar c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields << field;
      field.clear();
    } else {
      field += c;
    }
  }
  fields << field;
  return fields;
}

QString axis_label(const QVariant& value) {
  return value.typeId() == QMetaType::Double ? QString::number(value.toDouble(), 'g', 4)
                                             : value.toString();
}

}  // namespace

HeatMap::HeatMap(QWidget* parent) : QWidget(parent) {
  setMinimumSize(300, 200);
}

void HeatMap::set_data(const QStandardItemModel* model, int x_column, int y_column,
                       int value_column, Aggregate aggregate) {
  model_ = model;
  aggregate_ = aggregate;
  x_ = x_column;
  y_ = y_column;
  value_ = value_column;
  update();
}

void HeatMap::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().base());
  painter.setPen(palette().text().color());
  if (!model_ || x_ < 0 || y_ < 0 || value_ < 0 || model_->rowCount() == 0) {
    painter.drawText(rect(), Qt::AlignCenter,
                     "Open a sweep's results (File ▸ Open Sweep Results) to see a heat map");
    return;
  }
  // Distinct axis values: numbers in numeric order, then text in the order the rows hold it (a
  // sweep's order).
  const auto less = [](const QVariant& a, const QVariant& b) {
    const bool a_number = a.typeId() == QMetaType::Double;
    const bool b_number = b.typeId() == QMetaType::Double;
    if (a_number && b_number)
      return a.toDouble() < b.toDouble();
    return a_number && !b_number;
  };
  std::vector<QVariant> xs, ys;
  struct Cell {
    double sum = 0, low = 0, high = 0;
    int count = 0;
    double value(Aggregate a) const {
      return a == Aggregate::minimum ? low : a == Aggregate::maximum ? high : sum / count;
    }
  };
  std::map<std::pair<int, int>, Cell> cells;
  const auto index_of = [&](std::vector<QVariant>& values, const QVariant& v) {
    auto it = std::find(values.begin(), values.end(), v);
    if (it == values.end()) {
      values.push_back(v);
      return int(values.size() - 1);
    }
    return int(it - values.begin());
  };
  const auto present = [&](int r) {
    return model_->item(r, x_)->data(Qt::UserRole).isValid() &&
           model_->item(r, y_)->data(Qt::UserRole).isValid();
  };
  for (int r = 0; r < model_->rowCount(); ++r) {
    if (!present(r))
      continue;
    index_of(xs, model_->item(r, x_)->data(Qt::UserRole));
    index_of(ys, model_->item(r, y_)->data(Qt::UserRole));
  }
  std::stable_sort(xs.begin(), xs.end(), less);
  std::stable_sort(ys.begin(), ys.end(), less);
  double low = 0, high = 0;
  bool first = true;
  for (int r = 0; r < model_->rowCount(); ++r) {
    const QVariant v = model_->item(r, value_)->data(Qt::UserRole);
    if (v.typeId() != QMetaType::Double || !present(r))
      continue;
    const int xi = index_of(xs, model_->item(r, x_)->data(Qt::UserRole));
    const int yi = index_of(ys, model_->item(r, y_)->data(Qt::UserRole));
    Cell& cell = cells[{xi, yi}];
    const double d = v.toDouble();
    cell.low = cell.count ? std::min(cell.low, d) : d;
    cell.high = cell.count ? std::max(cell.high, d) : d;
    cell.sum += d;
    cell.count += 1;
  }
  for (auto& [key, cell] : cells) {
    const double mean = cell.value(aggregate_);
    low = first ? mean : std::min(low, mean);
    high = first ? mean : std::max(high, mean);
    first = false;
  }
  const QString x_name = result_column_title(model_->horizontalHeaderItem(x_)->text());
  const QString y_name = result_column_title(model_->horizontalHeaderItem(y_)->text());
  const QString value_name = result_column_title(model_->horizontalHeaderItem(value_)->text());
  const QRectF area = QRectF(rect()).adjusted(90, 30, -20, -50);
  const double w = area.width() / double(std::max<std::size_t>(xs.size(), 1));
  const double h = area.height() / double(std::max<std::size_t>(ys.size(), 1));
  const char* aggregate_name = aggregate_ == Aggregate::minimum   ? "lowest"
                               : aggregate_ == Aggregate::maximum ? "highest"
                                                                  : "mean";
  painter.drawText(QRectF(0, 4, width(), 20), Qt::AlignCenter,
                   QString("%1, the %2 of the rows in each cell, by %3 and %4: blue %5, red %6; "
                           "blank: no row")
                       .arg(value_name, aggregate_name, x_name, y_name)
                       .arg(low, 0, 'g', 4)
                       .arg(high, 0, 'g', 4));
  for (const auto& [key, cell] : cells) {
    const double mean = cell.value(aggregate_);
    const double t = high > low ? (mean - low) / (high - low) : 0.5;
    const QRectF box(area.left() + key.first * w, area.bottom() - (key.second + 1) * h, w, h);
    painter.fillRect(box, QColor::fromHsvF(float(0.66 * (1 - t)), 0.75f, 0.9f));
    painter.drawText(box, Qt::AlignCenter, QString::number(mean, 'g', 4));
  }
  for (std::size_t i = 0; i < xs.size(); ++i)
    painter.drawText(QRectF(area.left() + double(i) * w, area.bottom() + 2, w, 18), Qt::AlignCenter,
                     axis_label(xs[i]));
  for (std::size_t i = 0; i < ys.size(); ++i)
    painter.drawText(QRectF(0, area.bottom() - double(i + 1) * h, 84, h),
                     Qt::AlignRight | Qt::AlignVCenter, axis_label(ys[i]));
  painter.drawText(QRectF(area.left(), area.bottom() + 22, area.width(), 18), Qt::AlignCenter,
                   x_name);
  painter.save();
  painter.translate(12, area.center().y());
  painter.rotate(-90);
  painter.drawText(QRectF(-area.height() / 2, -10, area.height(), 20), Qt::AlignCenter, y_name);
  painter.restore();
}

SweepView::SweepView(QWidget* parent) : QWidget(parent) {
  setAccessibleName("sweep");
  model_ = new QStandardItemModel(this);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(model_);
  proxy_->setSortRole(Qt::UserRole);
  proxy_->setFilterKeyColumn(-1);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  filter_ = new QLineEdit(this);
  filter_->setPlaceholderText("filter rows (any column contains…)");
  connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
  table_ = new QTableView(this);
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->verticalHeader()->setVisible(false);
  table_->setAlternatingRowColors(true);
  x_axis_ = new QComboBox(this);
  y_axis_ = new QComboBox(this);
  value_ = new QComboBox(this);
  aggregate_ = new QComboBox(this);
  aggregate_->addItems({"lowest", "mean", "highest"});
  heat_map_ = new HeatMap(this);
  for (QComboBox* combo : {x_axis_, y_axis_, value_, aggregate_})
    connect(combo, &QComboBox::currentIndexChanged, this, &SweepView::refresh_heat_map);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(filter_);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(table_);
  auto* map_page = new QWidget(this);
  auto* map_layout = new QVBoxLayout(map_page);
  auto* choices = new QHBoxLayout;
  choices->addWidget(new QLabel("x axis", this));
  choices->addWidget(x_axis_);
  choices->addWidget(new QLabel("y axis", this));
  choices->addWidget(y_axis_);
  choices->addWidget(new QLabel("value", this));
  choices->addWidget(value_);
  choices->addWidget(new QLabel("of the rows in a cell, the", this));
  choices->addWidget(aggregate_);
  choices->addStretch(1);
  map_layout->addLayout(choices);
  map_layout->addWidget(heat_map_, 1);
  pages_ = new QTabWidget(this);
  pages_->addTab(map_page, "heat map");

  auto* axis_page = new QWidget(this);
  auto* axis_layout = new QVBoxLayout(axis_page);
  auto* axis_choices = new QHBoxLayout;
  chart_axis_ = new QComboBox(this);
  chart_metric_ = new QComboBox(this);
  axis_choices->addWidget(new QLabel("metric", this));
  axis_choices->addWidget(chart_metric_);
  axis_choices->addWidget(new QLabel("against the axis", this));
  axis_choices->addWidget(chart_axis_);
  axis_choices->addStretch(1);
  axis_layout->addLayout(axis_choices);
  axis_chart_ = new QChartView(this);
  axis_chart_->setRenderHint(QPainter::Antialiasing);
  axis_layout->addWidget(axis_chart_, 1);
  pages_->addTab(axis_page, "by axis");
  cost_chart_ = new QChartView(this);
  cost_chart_->setRenderHint(QPainter::Antialiasing);
  pages_->addTab(cost_chart_, "time and cost");
  for (QComboBox* combo : {chart_axis_, chart_metric_})
    connect(combo, &QComboBox::currentIndexChanged, this, &SweepView::refresh_charts);

  split->addWidget(pages_);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  layout->addWidget(split, 1);
  refresh_charts();
}

bool SweepView::load_results(const QString& path, QString* error) {
  try {
    set_results(sweep::read_results(path.toStdString()));
    return true;
  } catch (const InputError& e) {
    // Not a sweep's results: any CSV still shows as a table.
    if (QFileInfo(path).suffix().compare("csv", Qt::CaseInsensitive) == 0 &&
        load_csv(path, nullptr))
      return true;
    if (error)
      *error = QString::fromStdString(printable_text(e.what()));
    return false;
  }
}

void SweepView::set_results(sweep::ResultTable table) {
  fill_results_model(*model_, table);
  results_ = std::move(table);
  after_load();
}

void SweepView::show_page(const QString& name) {
  for (int i = 0; i < pages_->count(); ++i) {
    if (pages_->tabText(i) == name)
      pages_->setCurrentIndex(i);
  }
}

void SweepView::set_axis_chart(std::size_t axis, sweep::SweepMetric metric) {
  chart_axis_->setCurrentIndex(int(axis));
  chart_metric_->setCurrentIndex(chart_metric_->findData(int(metric)));
  refresh_charts();
}

void SweepView::refresh_charts() {
  const auto placeholder = [](const QString& text) {
    auto* chart = new QChart;
    chart->setTitle(text);
    chart->legend()->hide();
    return chart;
  };
  const bool sweep = results_ && !results_->axes.empty();
  QChart* old_axis = axis_chart_->chart();
  QChart* old_cost = cost_chart_->chart();
  const int axis = chart_axis_->currentIndex();
  const int metric = chart_metric_->currentData().toInt();
  if (sweep && axis >= 0 && chart_metric_->currentIndex() >= 0) {
    axis_chart_->setChart(make_sweep_axis_chart(
        sweep::sweep_axis_series(*results_, std::size_t(axis), sweep::SweepMetric(metric))));
    cost_chart_->setChart(make_sweep_cost_chart(sweep::sweep_cost_points(*results_)));
  } else {
    const QString text =
        "Open a sweep's results (File ▸ Open Sweep Results: the .csv, .jsonl or "
        ".sqlite of scaleplan sweep) to see its charts";
    axis_chart_->setChart(placeholder(text));
    cost_chart_->setChart(placeholder(text));
  }
  // setChart leaves the old chart to its owner: this view.
  delete old_axis;
  delete old_cost;
}

bool SweepView::load_csv(const QString& path, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
    if (error)
      *error = "cannot read " + path;
    return false;
  }
  return load_csv_text(QString::fromUtf8(file.readAll()), error);
}

bool SweepView::load_csv_text(const QString& text, QString* error) {
  QStringList lines = text.split('\n', Qt::SkipEmptyParts);
  if (lines.isEmpty()) {
    if (error)
      *error = "the sweep's results are empty: expected a header line";
    return false;
  }
  const QStringList header = split_csv(lines.takeFirst().trimmed());
  results_.reset();
  model_->clear();
  model_->setHorizontalHeaderLabels(header);
  for (const QString& line : lines) {
    const QStringList fields = split_csv(line.trimmed());
    QList<QStandardItem*> row;
    for (qsizetype c = 0; c < header.size(); ++c) {
      const QString field = c < fields.size() ? fields[c] : QString();
      bool number = false;
      const double value = field.toDouble(&number);
      // An empty field (a failed row's results) is missing: it sorts first and maps nowhere.
      row << result_item(field, number            ? QVariant(value)
                                : field.isEmpty() ? QVariant()
                                                  : QVariant(field));
    }
    model_->appendRow(row);
  }
  after_load();
  return true;
}

void SweepView::after_load() {
  QStringList header;
  for (int c = 0; c < model_->columnCount(); ++c)
    header << model_->horizontalHeaderItem(c)->text();
  for (QComboBox* combo : {x_axis_, y_axis_, value_}) {
    const QSignalBlocker block(combo);
    combo->clear();
    combo->addItems(header);
  }
  {
    const QSignalBlocker block_axis(chart_axis_);
    const QSignalBlocker block_metric(chart_metric_);
    chart_axis_->clear();
    chart_metric_->clear();
    if (results_) {
      for (const std::string& axis : results_->axes)
        chart_axis_->addItem(QString::fromStdString(axis));
      for (sweep::SweepMetric metric : sweep::sweep_metrics) {
        if (sweep::has_sweep_metric(*results_, metric))
          chart_metric_->addItem(QString::fromStdString(sweep::sweep_metric_name(metric)),
                                 int(metric));
      }
    }
  }
  const auto [x, y, value] = default_heat_map_columns(*model_);
  set_heat_map_columns(x, y, value);
  refresh_charts();
  table_->sortByColumn(-1, Qt::AscendingOrder);  // the file's order until a header is clicked
  table_->resizeColumnsToContents();
}

std::array<int, 3> SweepView::default_heat_map_columns(const QStandardItemModel& model) {
  std::vector<int> axes, numbers;
  int time = -1;
  for (int c = 0; c < model.columnCount(); ++c) {
    QSet<double> distinct;
    bool numeric = model.rowCount() > 0;
    for (int r = 0; r < model.rowCount() && numeric; ++r) {
      const QVariant v = model.item(r, c)->data(Qt::UserRole);
      if (!v.isValid())
        continue;  // missing
      numeric = v.typeId() == QMetaType::Double;
      if (numeric && distinct.size() <= 12)
        distinct.insert(v.toDouble());
    }
    if (!numeric || distinct.isEmpty())
      continue;
    const QString name = model.horizontalHeaderItem(c)->text();
    const bool counter = name == "rank" || name == "index";
    if (distinct.size() >= 2 && distinct.size() <= 12 && !counter)
      axes.push_back(c);
    else if (distinct.size() > 12 || distinct.size() == 1)
      numbers.push_back(c);
    if (time < 0 && name.contains("time") && !(distinct.size() >= 2 && distinct.size() <= 12))
      time = c;
  }
  const int columns = model.columnCount();
  const int x = axes.size() > 0 ? axes[0] : 0;
  const int y = axes.size() > 1 ? axes[1] : std::min(1, columns - 1);
  int value = time >= 0 ? time : columns - 1;
  if (time < 0) {
    for (int c : numbers) {
      const QString name = model.horizontalHeaderItem(c)->text();
      if (name != "rank" && name != "index") {
        value = c;
        break;
      }
    }
  }
  return {x, y, value};
}

void SweepView::set_heat_map_columns(int x, int y, int value) {
  x_axis_->setCurrentIndex(x);
  y_axis_->setCurrentIndex(y);
  value_->setCurrentIndex(value);
  refresh_heat_map();
}

void SweepView::refresh_heat_map() {
  heat_map_->set_data(model_, x_axis_->currentIndex(), y_axis_->currentIndex(),
                      value_->currentIndex(), Aggregate(aggregate_->currentIndex()));
}

}  // namespace scaleplan::gui
