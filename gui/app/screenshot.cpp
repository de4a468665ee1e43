#include "gui/app/screenshot.hpp"

#include <QApplication>
#include <QEventLoop>

#include "gui/app/main_window.hpp"
#include "gui/views/render.hpp"

namespace scaleplan::gui {

QString run_and_wait(MainWindow& window, bool search) {
  QEventLoop loop;
  QString error;
  SimulationJobs* jobs = window.jobs();
  const auto a =
      search ? QObject::connect(jobs, &SimulationJobs::search_finished, &loop, &QEventLoop::quit)
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
  if (search)
    window.search_plans();
  else
    window.run();
  loop.exec();
  QObject::disconnect(a);
  QObject::disconnect(b);
  QObject::disconnect(c);
  return error;
}

QString run_and_screenshot(MainWindow& window, const QStringList& scenarios, const QString& view,
                           QSize size, const QString& path, bool search_plans) {
  if (!MainWindow::view_names().contains(view))
    return "--view: '" + view + "' is not a view; use " + MainWindow::view_names().join(", ");
  for (const QString& scenario : scenarios) {
    if (!window.open_file(scenario, true))
      return window.status_text();
    if (const QString error = run_and_wait(window); !error.isEmpty())
      return scenario + ": " + error;
  }
  if (search_plans) {
    if (const QString error = run_and_wait(window, true); !error.isEmpty())
      return "plan search: " + error;
  }
  window.show_view(view);
  window.setFixedSize(size);
  window.show();
  QApplication::processEvents();
  QString error;
  if (!render_widget(window, path, &error))
    return error;
  return {};
}

}  // namespace scaleplan::gui
