// scaleplan-gui [SCENARIO]: the window over the library (gui/app/main_window.hpp), or with
// --screenshot, the picture of one view rendered offscreen.
#include <cstdio>
#include <optional>
#include <utility>

#include <QApplication>
#include <QCommandLineParser>

#include "gui/app/main_window.hpp"
#include "gui/app/screenshot.hpp"
#include "gui/views/sweep_view.hpp"
#include "gui/views/timeline_view.hpp"
#include "hardware/io/catalog.hpp"
#include "version/version.hpp"

int main(int argc, char** argv) {
  // A screenshot needs no display: render offscreen unless the caller chose a platform.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--screenshot" &&
        qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
      qputenv("QT_QPA_PLATFORM", "offscreen");
  }
  QApplication app(argc, argv);
  QApplication::setOrganizationName("scaleplan");
  QApplication::setApplicationName("scaleplan-gui");
  QApplication::setApplicationVersion(QString::fromStdString(scaleplan::scaleplan_version_text()));

  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Edit, run and compare scaleplan scenarios: timeline, memory, plans, topology, sweeps.");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("SCENARIO", "the scenario to open (and run)", "[SCENARIO]");
  QCommandLineOption compare("compare", "also run FILE and show it in the compare and plans views",
                             "FILE");
  QCommandLineOption sweep(
      "sweep", "open a sweep's results (.csv, .jsonl or .sqlite) in the sweep view", "RESULTS");
  QCommandLineOption screenshot(
      "screenshot", "run the scenarios, save VIEW as FILE (PNG, or SVG) and exit", "FILE");
  QCommandLineOption view(
      "view", "the view to show: " + scaleplan::gui::MainWindow::view_names().join(", "), "VIEW",
      "timeline");
  QCommandLineOption size("size", "the window's size for --screenshot", "WIDTHxHEIGHT", "1400x900");
  QCommandLineOption window_option(
      "timeline-window", "the part of the step the timeline shows, in seconds", "FROM,TO");
  QCommandLineOption search_option("search-plans",
                                   "search the scenario's best plans (the planner) after its run");
  QCommandLineOption measured_option(
      "measured", "show a measured step's Chrome trace beside the predicted timeline", "TRACE");
  QCommandLineOption capacity_option(
      "capacity", "run the capacity planner on a capacity spec (docs/capacity.md)", "SPEC");
  QCommandLineOption sweep_page_option(
      "sweep-page", "the sweep view's lower page: 'heat map', 'by axis' or 'time and cost'",
      "PAGE");
  parser.addOptions({compare, sweep, screenshot, view, size, window_option, search_option,
                     measured_option, capacity_option, sweep_page_option});
  parser.process(app);

  const QStringList positional = parser.positionalArguments();
  if (positional.size() > 1) {
    std::fprintf(stderr, "scaleplan-gui: one scenario at most; use --compare for more\n");
    return 2;
  }
  const QStringList dims = parser.value(size).split('x');
  bool width_ok = false, height_ok = false;
  const QSize window_size(dims.value(0).toInt(&width_ok), dims.value(1).toInt(&height_ok));
  if (dims.size() != 2 || !width_ok || !height_ok || window_size.width() < 200 ||
      window_size.height() < 200 || window_size.width() > 8000 || window_size.height() > 8000) {
    std::fprintf(stderr,
                 "scaleplan-gui: --size: expected WIDTHxHEIGHT from 200x200 to 8000x8000\n");
    return 2;
  }

  const scaleplan::Catalog& catalog = scaleplan::Catalog::builtin();
  scaleplan::gui::MainWindow window(catalog);
  if (parser.isSet(sweep) && !window.open_sweep(parser.value(sweep))) {
    std::fprintf(stderr, "scaleplan-gui: %s\n", qPrintable(window.status_text()));
    return 1;
  }
  if (parser.isSet(sweep_page_option)) {
    const QString page = parser.value(sweep_page_option);
    if (page != "heat map" && page != "by axis" && page != "time and cost") {
      std::fprintf(stderr,
                   "scaleplan-gui: --sweep-page: '%s' is not a page; use 'heat map', 'by axis' or "
                   "'time and cost'\n",
                   qPrintable(page));
      return 2;
    }
    window.sweep_view()->show_page(page);
  }
  std::optional<std::pair<double, double>> timeline_window;
  if (parser.isSet(window_option)) {
    const QStringList ends = parser.value(window_option).split(',');
    bool from_ok = false, to_ok = false;
    const double from = ends.value(0).toDouble(&from_ok), to = ends.value(1).toDouble(&to_ok);
    if (ends.size() != 2 || !from_ok || !to_ok || from < 0 || to <= from) {
      std::fprintf(stderr,
                   "scaleplan-gui: --timeline-window: expected FROM,TO in seconds, "
                   "0 <= FROM < TO\n");
      return 2;
    }
    timeline_window = {from, to};
  }
  // Applied to each run's timeline as it arrives: the measured step, the window.
  if (parser.isSet(measured_option)) {
    const QString trace = parser.value(measured_option);
    QObject::connect(
        window.jobs(), &scaleplan::gui::SimulationJobs::finished, &window, [&window, trace] {
          if (!window.open_measured(trace))
            std::fprintf(stderr, "scaleplan-gui: %s\n", qPrintable(window.status_text()));
        });
  }
  if (timeline_window) {
    QObject::connect(window.jobs(), &scaleplan::gui::SimulationJobs::finished, &window, [&] {
      window.timeline_view()->set_window(std::int64_t(timeline_window->first * 1e12),
                                         std::int64_t(timeline_window->second * 1e12));
    });
  }
  QStringList scenarios = parser.values(compare);
  scenarios += positional;

  if (parser.isSet(screenshot)) {
    const QString error = scaleplan::gui::run_and_screenshot(
        window, {scenarios, parser.value(view), window_size, parser.value(screenshot),
                 parser.isSet(search_option), parser.value(capacity_option)});
    if (!error.isEmpty()) {
      std::fprintf(stderr, "scaleplan-gui: %s\n", qPrintable(error));
      return 1;
    }
    return 0;
  }

  for (const QString& file : parser.values(compare)) {
    if (window.open_file(file))
      scaleplan::gui::run_and_wait(window);
  }
  if (!positional.isEmpty() && window.open_file(positional.front())) {
    if (parser.isSet(search_option))
      window.search_plans();
    else
      window.run();
  }
  if (parser.isSet(capacity_option))
    window.plan_capacity(parser.value(capacity_option));
  if (parser.isSet(view))
    window.show_view(parser.value(view));
  window.show();
  return app.exec();
}
