#include "gui/views/charts.hpp"

#include <algorithm>

#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QHorizontalStackedBarSeries>
#include <QtCharts/QLineSeries>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QStackedBarSeries>
#include <QtCharts/QValueAxis>

#include "gui/models/prediction_models.hpp"
#include "gui/views/colors.hpp"

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
    capacity->setName(QString("device capacity (%1 GiB)")
                          .arg(p.memory.capacity_bytes / gib, 0, 'f', 0));
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
  for (const auto& run : runs) {
    const Prediction& p = run->prediction;
    names << QString("%1\n%2 · MFU %3 % · %4")
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

std::vector<std::size_t> pareto_front(const std::vector<std::shared_ptr<const RunResult>>& runs) {
  std::vector<std::size_t> front;
  const auto cost = [&](std::size_t i) {
    return runs[i]->prediction.step_time_s * runs[i]->prediction.devices / 3600;
  };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < runs.size() && !dominated; ++j) {
      const double ti = runs[i]->prediction.step_time_s, tj = runs[j]->prediction.step_time_s;
      dominated = j != i && tj <= ti && cost(j) <= cost(i) && (tj < ti || cost(j) < cost(i));
    }
    if (!dominated)
      front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
    return runs[a]->prediction.step_time_s < runs[b]->prediction.step_time_s;
  });
  return front;
}

QChart* make_pareto_chart(const std::vector<std::shared_ptr<const RunResult>>& runs) {
  QChart* chart = new_chart("Time and cost of a training step");
  auto* points = new QScatterSeries;
  points->setName("plans (scenarios loaded)");
  points->setMarkerSize(11);
  points->setColor(compute_color());
  double max_time = 0, max_cost = 0;
  for (const auto& run : runs) {
    const Prediction& p = run->prediction;
    const double cost = p.step_time_s * p.devices / 3600;
    points->append(p.step_time_s, cost);
    max_time = std::max(max_time, p.step_time_s);
    max_cost = std::max(max_cost, cost);
  }
  auto* front = new QLineSeries;
  front->setName("time/cost Pareto front");
  front->setPen(QPen(QColor(200, 30, 30), 1.5));
  for (std::size_t i : pareto_front(runs))
    front->append(runs[i]->prediction.step_time_s,
                  runs[i]->prediction.step_time_s * runs[i]->prediction.devices / 3600);
  chart->addSeries(front);
  chart->addSeries(points);
  auto* time_axis = value_axis("step time (s)", max_time);
  auto* cost_axis = value_axis("cost per step (GPU-hours)", max_cost);
  chart->addAxis(time_axis, Qt::AlignBottom);
  chart->addAxis(cost_axis, Qt::AlignLeft);
  for (QAbstractSeries* s : chart->series()) {
    s->attachAxis(time_axis);
    s->attachAxis(cost_axis);
  }
  return chart;
}

}  // namespace scaleplan::gui
