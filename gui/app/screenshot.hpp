// `scaleplan-gui SCENARIO --screenshot FILE.png --view NAME`: runs the scenarios, shows a view
// in the window at a fixed size offscreen, saves the image and returns. The README's pictures
// are made this way, by the program itself.
#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

namespace scaleplan::gui {

class MainWindow;

// Opens and runs the scenarios in turn, waiting for each run, then the plan search and the
// capacity planner if asked; then renders the view at the size into the path. Returns an empty
// string on success, else what went wrong.
struct Screenshot {
  QStringList scenarios;  // opened and run in turn; the last stays in the editor
  QString view = "timeline";
  QSize size{1400, 900};
  QString path;
  bool search_plans = false;  // the last scenario's plans searched (the planner) after its run
  QString capacity_spec;      // the capacity planner run on this spec, if set
};
QString run_and_screenshot(MainWindow& window, const Screenshot& shot);

// Runs the editor's scenario and waits for it to finish, fail or be cancelled; the error text or
// an empty string.
// What runs: the editor's scenario, its plan search, or the capacity planner on a spec.
enum class Work { run, search, capacity };
QString run_and_wait(MainWindow& window, Work work = Work::run, const QString& spec = {});

}  // namespace scaleplan::gui
