// `scaleplan-gui SCENARIO --screenshot FILE.png --view NAME`: runs the scenarios, shows a view
// in the window at a fixed size offscreen, saves the image and returns. The README's pictures
// are made this way, by the program itself.
#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

namespace scaleplan::gui {

class MainWindow;

// Opens and runs each of `scenarios` in turn (the last stays in the editor), waiting for each
// run; then renders `view` at `size` into `path`. Returns an empty string on success, else what
// went wrong.
// With `search_plans`, the last scenario's plans are searched (the planner) after its run.
QString run_and_screenshot(MainWindow& window, const QStringList& scenarios, const QString& view,
                           QSize size, const QString& path, bool search_plans = false);

// Runs the editor's scenario and waits for it to finish, fail or be cancelled; the error text or
// an empty string.
// With `search`, the plan search instead of the run.
QString run_and_wait(MainWindow& window, bool search = false);

}  // namespace scaleplan::gui
