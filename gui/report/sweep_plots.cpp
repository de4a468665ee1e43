#include "gui/report/sweep_plots.hpp"

#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>

#include <QApplication>
#include <QStandardItemModel>

#include "gui/models/sweep_results.hpp"
#include "gui/views/charts.hpp"
#include "gui/views/render.hpp"
#include "gui/views/sweep_view.hpp"

namespace scaleplan::gui {
namespace {

std::string file_part(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '-' || c == '_';
    if (!plain)
      c = '_';
  }
  return out;
}

std::string metric_file_part(sweep::SweepMetric metric) {
  switch (metric) {
    case sweep::SweepMetric::step_time:
      return "step-time";
    case sweep::SweepMetric::throughput:
      return "throughput";
    case sweep::SweepMetric::mfu:
      return "mfu";
    case sweep::SweepMetric::cost:
      return "cost";
  }
  return "metric";
}

// The process's application, or one of its own on the offscreen platform for as long as the
// plots take.
class Application {
 public:
  Application() {
    if (QCoreApplication::instance()) {
      if (!qobject_cast<QApplication*>(QCoreApplication::instance()))
        throw std::runtime_error(
            "the plots need a QApplication (widgets); this process has a core application only");
      return;
    }
    // No window is ever shown: the offscreen platform needs no display, whatever the session.
    qputenv("QT_QPA_PLATFORM", "offscreen");
    // Qt's notes on the platform (no XDG_RUNTIME_DIR, size hints the offscreen platform
    // ignores) are not the command's to print; its errors are.
    previous_ = qInstallMessageHandler(
        [](QtMsgType type, const QMessageLogContext&, const QString& message) {
          if (type == QtCriticalMsg || type == QtFatalMsg)
            std::fprintf(stderr, "Qt: %s\n", qPrintable(message));
        });
    own_.emplace(argc_, argv_);
  }
  ~Application() {
    if (own_) {
      own_.reset();
      qInstallMessageHandler(previous_);
    }
  }
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

 private:
  int argc_ = 1;
  char name_[10] = "scaleplan";
  char* argv_[2] = {name_, nullptr};
  QtMessageHandler previous_ = nullptr;
  std::optional<QApplication> own_;
};

}  // namespace

std::vector<SweepPlot> write_sweep_plots(const sweep::ResultTable& table,
                                         const std::filesystem::path& directory,
                                         const SweepPlotOptions& options) {
  const Application application;
  std::filesystem::create_directories(directory);
  const QSize size(options.width_px, options.height_px);
  std::vector<SweepPlot> plots;
  // Both files of a plot; `draw` renders one into a path.
  const auto write = [&](const std::string& name, const std::string& what,
                         const std::function<bool(const QString&, QString*)>& draw) {
    for (const char* extension : {".svg", ".png"}) {
      const std::filesystem::path path = directory / (name + extension);
      QString error;
      if (!draw(QString::fromStdString(path.string()), &error))
        throw std::runtime_error("cannot write " + path.string());
    }
    plots.push_back({name, what});
  };
  for (std::size_t a = 0; a < table.axes.size(); ++a) {
    for (sweep::SweepMetric metric : sweep::sweep_metrics) {
      if (!sweep::has_sweep_metric(table, metric))
        continue;
      const sweep::SweepAxisSeries series = sweep::sweep_axis_series(table, a, metric);
      write(metric_file_part(metric) + "-vs-" + file_part(table.axes[a]),
            sweep::sweep_metric_name(metric) + " against " + table.axes[a],
            [&](const QString& path, QString* error) {
              return render_chart(make_sweep_axis_chart(series), size, path, error);
            });
    }
  }
  const sweep::SweepCostPoints cost = sweep::sweep_cost_points(table);
  if (!cost.rows.empty()) {
    write("cost-vs-step-time",
          std::string("step time against the cost of a step") +
              (cost.usd ? "" : " (device-hours)") + ", and their Pareto front",
          [&](const QString& path, QString* error) {
            return render_chart(make_sweep_cost_chart(cost), size, path, error);
          });
  }
  if (table.axes.size() >= 2) {
    // The scenarios that ran and fit, as the other plots: a plan that does not fit has a step
    // time, but no one can run it.
    sweep::ResultTable fitting = table;
    fitting.rows.clear();
    for (std::size_t r : sweep::sweep_fitting_rows(table))
      fitting.rows.push_back(table.rows[r]);
    QStandardItemModel model;
    fill_results_model(model, fitting);
    const auto column = [&](const std::string& name) {
      for (int c = 0; c < model.columnCount(); ++c) {
        if (model.horizontalHeaderItem(c)->text().toStdString() == name)
          return c;
      }
      return -1;
    };
    HeatMap map;
    QFont font = map.font();
    font.setPointSize(10);
    map.setFont(font);
    map.set_data(&model, column(table.axes[0]), column(table.axes[1]), column("step_time_s"),
                 Aggregate::minimum);
    map.resize(size);
    write(
        "heat-map",
        "the lowest step time of those that fit at each " + table.axes[0] + " and " + table.axes[1],
        [&](const QString& path, QString* error) { return render_widget(map, path, error); });
  }
  return plots;
}

}  // namespace scaleplan::gui
