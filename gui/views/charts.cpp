#include "gui/views/charts.hpp"

#include <algorithm>

#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QHorizontalStackedBarSeries>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QStackedBarSeries>
#include <QtCharts/QValueAxis>

#include "gui/models/prediction_models.hpp"
#include "gui/models/sweep_results.hpp"
#include "gui/views/colors.hpp"
#include "hardware/input/diagnostics.hpp"

namespace scaleplan::gui {
namespace {

constexpr double gib = 1024.0 * 1024 * 1024;

QBarSet* bar_set(const QString& name, QColor color) {
  auto* set = new QBarSet(name);
  set->setColor(color);
  set->setBorderColor(color.darker(130));
  return set;
}

QValueAxis* value_axis(const QString& title, double max) {
  auto* axis = new QValueAxis;
  axis->setTitleText(title);
  axis->setRange(0, max > 0 ? max * 1.08 : 1);
  axis->setLabelFormat("%.3g");
  axis->applyNiceNumbers();
  return axis;
}

QChart* new_chart(const QString& title) {
  auto* chart = new QChart;
  chart->setTitle(title);
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->setAnimationOptions(QChart::NoAnimation);
  QFont font = chart->titleFont();
  font.setPointSize(11);
  font.setBold(true);
  chart->setTitleFont(font);
  return chart;
}

}  // namespace

QChart* make_memory_chart(const Prediction& p) {
  QChart* chart = new_chart(QString("Memory per pipeline stage, %1 (%2)")
                                .arg(QString::fromStdString(p.scenario))
                                .arg(QString::fromStdString(p.device)));
  auto* weights = bar_set("weights", QColor(0x3b, 0x75, 0xaf));
  auto* gradients = bar_set("gradients", QColor(0x51, 0x9e, 0x3e));
  auto* optimizer = bar_set("optimizer state", QColor(0x8d, 0x69, 0xb8));
  auto* activations = bar_set("activations", QColor(0xef, 0x86, 0x36));
  auto* buffers = bar_set("buffers and allocator headroom", QColor(0xaa, 0xaa, 0xaa));
  QStringList stages;
  double top = p.memory.capacity_bytes;
  std::vector<MemoryBreakdown> memory = p.stage_memory;
  if (memory.empty())
    memory.push_back(p.memory);
  for (std::size_t s = 0; s < memory.size(); ++s) {
    const MemoryBreakdown& m = memory[s];
    stages << QString("stage %1").arg(s);
    *weights << m.weights_bytes / gib;
    *gradients << m.gradients_bytes / gib;
    *optimizer << m.optimizer_bytes / gib;
    *activations << m.activations_bytes / gib;
    *buffers << (m.communication_buffer_bytes + m.nccl_buffer_bytes + m.allocator_headroom_bytes) /
                    gib;
    top = std::max(top, m.peak_bytes);
  }
  auto* series = new QStackedBarSeries;
  series->append({weights, gradients, optimizer, activations, buffers});
  chart->addSeries(series);
  auto* stage_axis = new QBarCategoryAxis;
  stage_axis->append(stages);
  stage_axis->setTitleText("pipeline stage (rank of highest memory in each)");
  auto* bytes_axis = value_axis("memory per device (GiB)", top / gib);
  chart->addAxis(stage_axis, Qt::AlignBottom);
  chart->addAxis(bytes_axis, Qt::AlignLeft);
  series->attachAxis(stage_axis);
  series->attachAxis(bytes_axis);
  if (p.memory.capacity_bytes > 0) {
    // The capacity as a line across the bars, on a hidden axis spanning the categories.
    auto* capacity = new QLineSeries;
    capacity->setName(
        QString("device capacity (%1 GiB)").arg(p.memory.capacity_bytes / gib, 0, 'f', 0));
    capacity->setPen(QPen(QColor(200, 30, 30), 2, Qt::DashLine));
    capacity->append(-0.5, p.memory.capacity_bytes / gib);
    capacity->append(double(memory.size()) - 0.5, p.memory.capacity_bytes / gib);
    chart->addSeries(capacity);
    auto* hidden = new QValueAxis;
    hidden->setRange(-0.5, double(memory.size()) - 0.5);
    hidden->setVisible(false);
    chart->addAxis(hidden, Qt::AlignTop);
    capacity->attachAxis(hidden);
    capacity->attachAxis(bytes_axis);
  }
  return chart;
}

QChart* make_compare_chart(const std::vector<std::shared_ptr<const RunResult>>& runs) {
  QChart* chart = new_chart("Step time: compute, exposed communication and pipeline bubble");
  auto* compute = bar_set("compute", compute_color());
  auto* communication = bar_set("exposed communication", communication_color());
  auto* bubble = bar_set("pipeline bubble", bubble_color());
  QStringList names;
  double top = 0;
  // Horizontal bars list their categories bottom up: the first run goes last, to show on top.
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    const Prediction& p = (*it)->prediction;
    names << QString("%1<br>%2 · MFU %3 % · %4")
                 .arg(QString::fromStdString(p.scenario))
                 .arg(format_strategy(p.parallelism))
                 .arg(p.mfu * 100, 0, 'f', 1)
                 .arg(QString::fromStdString(format_bytes(p.memory.peak_bytes)));
    *compute << p.breakdown.compute_s;
    *communication << p.breakdown.exposed_comm_s;
    *bubble << p.breakdown.bubble_s;
    top = std::max(top, p.breakdown.compute_s + p.breakdown.exposed_comm_s + p.breakdown.bubble_s);
    top = std::max(top, p.step_time_s);
  }
  auto* series = new QHorizontalStackedBarSeries;
  series->append({compute, communication, bubble});
  chart->addSeries(series);
  auto* run_axis = new QBarCategoryAxis;
  run_axis->append(names);
  auto* time_axis = value_axis("time per training step (s)", top);
  chart->addAxis(run_axis, Qt::AlignLeft);
  chart->addAxis(time_axis, Qt::AlignBottom);
  series->attachAxis(run_axis);
  series->attachAxis(time_axis);
  return chart;
}

std::vector<std::size_t> pareto_front(const std::vector<TradeOffPoint>& points) {
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return points[a].x < points[b].x || (points[a].x == points[b].x && points[a].y < points[b].y);
  });
  // By x: a point is on the front when no point of smaller x is as low, and none of its own x is
  // lower.
  std::vector<std::size_t> front;
  bool any = false;
  double lowest = 0;  // the lowest y of the points of smaller x
  for (std::size_t i = 0; i < order.size();) {
    std::size_t end = i;
    while (end < order.size() && points[order[end]].x == points[order[i]].x)
      ++end;
    const double y = points[order[i]].y;  // the lowest of this x
    if (!any || y < lowest) {
      for (std::size_t j = i; j < end && points[order[j]].y == y; ++j)
        front.push_back(order[j]);
    }
    lowest = any ? std::min(lowest, y) : y;
    any = true;
    i = end;
  }
  return front;
}

QChart* make_pareto_chart(const QString& title, const QString& x_title, const QString& y_title,
                          const std::vector<TradeOffPoint>& points, const QString& points_name) {
  QChart* chart = new_chart(title);
  auto* scatter = new QScatterSeries;
  scatter->setName(points_name);
  scatter->setMarkerSize(10);
  scatter->setColor(compute_color());
  double min_x = points.empty() ? 0 : points.front().x, max_x = min_x;
  double min_y = points.empty() ? 0 : points.front().y, max_y = min_y;
  for (const TradeOffPoint& p : points) {
    scatter->append(p.x, p.y);
    min_x = std::min(min_x, p.x);
    max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y);
    max_y = std::max(max_y, p.y);
  }
  auto* front = new QLineSeries;
  front->setName("Pareto front (no other point lower on both axes)");
  front->setPen(QPen(QColor(200, 30, 30), 2));
  for (std::size_t i : pareto_front(points))
    front->append(points[i].x, points[i].y);
  auto* front_points = new QScatterSeries;
  front_points->setMarkerSize(14);
  front_points->setColor(Qt::transparent);
  front_points->setBorderColor(QColor(200, 30, 30));
  for (std::size_t i : pareto_front(points))
    front_points->append(points[i].x, points[i].y);
  chart->addSeries(front);
  chart->addSeries(scatter);
  chart->addSeries(front_points);
  chart->legend()->markers(front_points).front()->setVisible(false);
  // The axes span the points, not zero to them, so that a front of close plans spreads out.
  const auto span_axis = [](const QString& axis_title, double low, double high) {
    auto* axis = value_axis(axis_title, high);
    axis->setTickCount(7);
    const double margin = high > low ? 0.08 * (high - low) : std::max(0.05 * high, 1e-9);
    axis->setRange(std::max(0.0, low - margin), high + margin);
    axis->applyNiceNumbers();
    return axis;
  };
  auto* x_axis = span_axis(x_title, min_x, max_x);
  auto* y_axis = span_axis(y_title, min_y, max_y);
  chart->addAxis(x_axis, Qt::AlignBottom);
  chart->addAxis(y_axis, Qt::AlignLeft);
  for (QAbstractSeries* s : chart->series()) {
    s->attachAxis(x_axis);
    s->attachAxis(y_axis);
  }
  return chart;
}

QChart* make_capacity_chart(const CapacityResult& capacity) {
  double most = 0;
  for (const capacity::OptionResult& row : capacity.report.rows)
    most = std::max(most, row.has_plan() ? row.cost.usd : 0.0);
  const bool millions = most >= 1e6;
  const double unit = millions ? 1e6 : most >= 1e3 ? 1e3 : 1;
  std::vector<TradeOffPoint> points;
  for (const capacity::OptionResult& row : capacity.report.rows) {
    if (row.has_plan())
      points.push_back({row.goodput.wall_s / 86400, row.cost.usd / unit});
  }
  return make_pareto_chart(QString("Time to train and cost, %1: each cluster rented or bought")
                               .arg(QString::fromStdString(capacity.report.model)),
                           "time to train (days, with failures and checkpoints)",
                           millions      ? "cost (million USD)"
                           : unit == 1e3 ? "cost (thousand USD)"
                                         : "cost (USD)",
                           points, "clusters");
}

QChart* make_runs_pareto_chart(const std::vector<std::shared_ptr<const RunResult>>& runs) {
  std::vector<TradeOffPoint> points;
  for (const auto& run : runs) {
    const Prediction& p = run->prediction;
    points.push_back({p.step_time_s, p.step_time_s * p.devices / 3600});
  }
  return make_pareto_chart("Time and cost of a training step, the runs of this session",
                           "step time (s)", "GPU-hours per step", points);
}

QChart* make_search_pareto_chart(const SearchResult& result) {
  std::vector<TradeOffPoint> points;
  for (const RankedPlan& plan : result.search.ranked) {
    const double memory =
        plan.simulated ? plan.simulated->memory.peak_bytes : plan.estimate.memory.peak_bytes;
    points.push_back({plan.step_time_s, memory / gib});
  }
  return make_pareto_chart(QString("Step time and peak memory of the %1 best plans, %2")
                               .arg(points.size())
                               .arg(QString::fromStdString(result.scenario.name)),
                           "step time (s)", "peak memory (GiB)", points);
}

namespace {

// A sweep metric's axis title and the factor its values are drawn at.
struct MetricScale {
  QString title;
  double factor = 1;
};

MetricScale metric_scale(sweep::SweepMetric metric, double largest) {
  switch (metric) {
    case sweep::SweepMetric::step_time:
      return {"step time (s)", 1};
    case sweep::SweepMetric::throughput:
      return largest >= 1e6   ? MetricScale{"throughput (million tokens/s)", 1e-6}
             : largest >= 1e3 ? MetricScale{"throughput (thousand tokens/s)", 1e-3}
                              : MetricScale{"throughput (tokens/s)", 1};
    case sweep::SweepMetric::mfu:
      return {"MFU (% of peak FLOP/s)", 100};
    case sweep::SweepMetric::cost:
      return {"cost of a step (USD, rented at catalog prices)", 1};
  }
  return {};
}

QString best_name(sweep::SweepMetric metric) {
  switch (metric) {
    case sweep::SweepMetric::step_time:
      return "fastest that fits";
    case sweep::SweepMetric::throughput:
    case sweep::SweepMetric::mfu:
      return "highest of those that fit";
    case sweep::SweepMetric::cost:
      return "cheapest that fits";
  }
  return {};
}

// Larger type, for charts that a report shows on their own.
void enlarge_fonts(QChart* chart) {
  for (QAbstractAxis* axis : chart->axes()) {
    QFont labels = axis->labelsFont();
    labels.setPointSize(10);
    axis->setLabelsFont(labels);
    QFont title = axis->titleFont();
    title.setPointSize(10);
    title.setBold(true);
    axis->setTitleFont(title);
  }
  QFont legend = chart->legend()->font();
  legend.setPointSize(10);
  chart->legend()->setFont(legend);
}

}  // namespace

QChart* make_sweep_axis_chart(const sweep::SweepAxisSeries& series) {
  const QString axis = QString::fromStdString(series.axis);
  const QString metric = QString::fromStdString(sweep::sweep_metric_name(series.metric));
  QChart* chart = new_chart(
      QString("%1 against %2: the %3 and the mean of the scenarios that fit")
          .arg(metric.front().isLower() ? metric.front().toUpper() + metric.mid(1) : metric)
          .arg(axis)
          .arg(series.metric == sweep::SweepMetric::step_time ? "fastest"
               : series.metric == sweep::SweepMetric::cost    ? "cheapest"
                                                              : "highest"));
  double largest = 0;
  for (const sweep::SweepAxisPoint& p : series.points)
    largest = std::max({largest, p.best.value_or(0), p.mean.value_or(0)});
  const MetricScale scale = metric_scale(series.metric, largest);
  QStringList categories;
  for (const sweep::SweepAxisPoint& p : series.points) {
    QString label = QString::fromStdString(printable_text(p.value));
    if (p.fitting == 0)
      label += p.scenarios == 1 ? "<br>(does not fit<br>or failed)" : "<br>(none fits)";
    categories << label;
  }
  auto* x_axis = new QBarCategoryAxis;
  x_axis->append(categories);
  x_axis->setTitleText(axis);
  auto* y_axis = value_axis(scale.title, largest * scale.factor);
  y_axis->setTickCount(7);  // six steps of nice numbers from zero
  y_axis->setRange(0, largest > 0 ? largest * scale.factor * 1.05 : 1);
  y_axis->applyNiceNumbers();
  chart->addAxis(x_axis, Qt::AlignBottom);
  chart->addAxis(y_axis, Qt::AlignLeft);
  // Each line in runs of values that have a point, so that a value without one breaks it; one
  // legend entry per line.
  const auto add_line = [&](const QString& name, QPen pen,
                            std::optional<double> sweep::SweepAxisPoint::*value) {
    QLineSeries* run = nullptr;
    bool named = false;
    for (std::size_t i = 0; i < series.points.size(); ++i) {
      const std::optional<double>& v = series.points[i].*value;
      if (!v) {
        run = nullptr;
        continue;
      }
      if (!run) {
        run = new QLineSeries;
        run->setName(name);
        run->setPen(pen);
        run->setPointsVisible(true);
        chart->addSeries(run);
        run->attachAxis(x_axis);
        run->attachAxis(y_axis);
        for (QLegendMarker* marker : chart->legend()->markers(run))
          marker->setVisible(!named);
        named = true;
      }
      run->append(double(i), *v * scale.factor);
    }
  };
  add_line(best_name(series.metric), QPen(compute_color(), 3), &sweep::SweepAxisPoint::best);
  QPen mean_pen(QColor(0x55, 0x55, 0x55), 2, Qt::DashLine);
  add_line("mean of those that fit", mean_pen, &sweep::SweepAxisPoint::mean);
  enlarge_fonts(chart);
  return chart;
}

QChart* make_sweep_cost_chart(const sweep::SweepCostPoints& points) {
  std::vector<TradeOffPoint> xy;
  for (std::size_t i = 0; i < points.cost.size(); ++i)
    xy.push_back({points.step_time_s[i], points.cost[i]});
  QChart* chart = make_pareto_chart(
      QString("Time and cost of a step, the %1 scenarios that fit").arg(xy.size()), "step time (s)",
      points.usd ? "cost of a step (USD, rented at catalog prices)"
                 : "device-hours per step (devices × step time)",
      xy, "scenarios that fit");
  enlarge_fonts(chart);
  return chart;
}

}  // namespace scaleplan::gui
