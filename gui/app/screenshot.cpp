#include "gui/app/screenshot.hpp"

#include <QApplication>
#include <QEventLoop>

#include "gui/app/main_window.hpp"
#include "gui/views/render.hpp"

namespace scaleplan::gui {

QString run_and_wait(MainWindow& window, Work work, const QString& spec) {
  QEventLoop loop;
  QString error;
  SimulationJobs* jobs = window.jobs();
  const auto a =
      work == Work::search
          ? QObject::connect(jobs, &SimulationJobs::search_finished, &loop, &QEventLoop::quit)
      : work == Work::capacity
          ? QObject::connect(jobs, &SimulationJobs::capacity_finished, &loop, &QEventLoop::quit)
          : QObject::connect(jobs, &SimulationJobs::finished, &loop, &QEventLoop::quit);
  const auto b =
      QObject::connect(jobs, &SimulationJobs::failed, &loop, [&](quint64, const QString& message) {
        error = message;
        loop.quit();
      });
  const auto c = QObject::connect(jobs, &SimulationJobs::cancelled, &loop, [&] {
    error = "cancelled";
    loop.quit();
  });
  if (work == Work::search) {
    window.search_plans();
  } else if (work == Work::capacity) {
    if (!window.plan_capacity(spec))
      return window.status_text();
  } else {
    window.run();
  }
  loop.exec();
  QObject::disconnect(a);
  QObject::disconnect(b);
  QObject::disconnect(c);
  return error;
}

QString run_and_screenshot(MainWindow& window, const Screenshot& shot) {
  const QString& view = shot.view;
  if (!MainWindow::view_names().contains(view))
    return "--view: '" + view + "' is not a view; use " + MainWindow::view_names().join(", ");
  for (const QString& scenario : shot.scenarios) {
    if (!window.open_file(scenario, true))
      return window.status_text();
    if (const QString error = run_and_wait(window); !error.isEmpty())
      return scenario + ": " + error;
  }
  if (shot.search_plans) {
    if (const QString error = run_and_wait(window, Work::search); !error.isEmpty())
      return "plan search: " + error;
  }
  if (!shot.capacity_spec.isEmpty()) {
    if (const QString error = run_and_wait(window, Work::capacity, shot.capacity_spec);
        !error.isEmpty())
      return shot.capacity_spec + ": " + error;
  }
  window.show_view(view);
  window.setFixedSize(shot.size);
  window.show();
  QApplication::processEvents();
  QString error;
  if (!render_widget(window, shot.path, &error))
    return error;
  return {};
}

}  // namespace scaleplan::gui
