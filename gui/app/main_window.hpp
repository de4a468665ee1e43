// scaleplan-gui's window: the scenario editor on the left, the views on the right (summary,
// timeline, memory, compare, plans, topology, sweep), runs in a worker (SimulationJobs) with
// progress and cancel in the status bar, recent files, undo and shortcuts. Every number it shows
// is a library value: the same as `scaleplan run` prints.
#pragma once

#include <memory>
#include <string>

#include <QMainWindow>

#include "gui/models/prediction_models.hpp"
#include "gui/models/simulation_job.hpp"

class QAction;
class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;
class QUndoStack;
class QChartView;

namespace scaleplan::gui {

class ScenarioEditor;
class SweepView;
class TimelineView;
class TopologyView;

class MainWindow final : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(const Catalog& catalog, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens a scenario into the editor (and the recent files). On failure, says why in a dialog
  // unless `quiet`, and returns false.
  bool open_file(const QString& path, bool quiet = false);
  bool save_file(const QString& path);
  // Opens a measured step's Chrome trace (the executor's, or any in the same format) beside the
  // predicted timeline.
  bool open_measured(const QString& path);
  // Opens a sweep's results (.csv, .jsonl, .sqlite; or any CSV) into the sweep view.
  bool open_sweep(const QString& path);
  SweepView* sweep_view() const { return sweep_; }
  // Runs the editor's scenario; a run in progress is replaced. Returns the job id.
  std::uint64_t run();
  // Searches the editor's scenario for its best plans (the planner), into the plans view.
  std::uint64_t search_plans();
  // Runs the capacity planner on a capacity spec (docs/capacity.md), into the plans view.
  bool plan_capacity(const QString& spec_path);
  // Writes ranked plan `row` (0: the best) of the last search into the editor, as one undoable
  // edit.
  bool use_ranked_plan(int row);
  void cancel();

  // The views by name: summary, timeline, memory, compare, plans, topology, sweep.
  static QStringList view_names();
  bool show_view(const QString& name);
  QWidget* view(const QString& name) const;

  ScenarioEditor* editor() const { return editor_; }
  SimulationJobs* jobs() const { return jobs_; }
  QUndoStack* undo_stack() const { return undo_; }
  const SummaryModel* summary_model() const { return summary_; }
  CompareModel* compare_model() const { return compare_; }
  RankedPlanModel* ranked_plans() const { return ranked_; }
  TimelineView* timeline_view() const { return timeline_; }
  QProgressBar* progress_bar() const { return progress_; }
  QString status_text() const;
  QString plans_title() const;  // the line above the ranked plans
  QStringList recent_files() const;

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void build_menus();
  void show_result();
  void show_search();
  void show_capacity();
  void refresh_comparison();
  void remember_recent(const QString& path);
  void rebuild_recent_menu();
  void update_title();
  bool save();
  bool save_as();
  void export_view();
  bool maybe_save();

  const Catalog& catalog_;
  QUndoStack* undo_;
  ScenarioEditor* editor_;
  SimulationJobs* jobs_;
  QTabWidget* tabs_;
  SummaryModel* summary_;
  QTableView* summary_table_;
  TimelineView* timeline_;
  QChartView* memory_chart_;
  CompareModel* compare_;
  QChartView* compare_chart_;
  QTableView* compare_table_;
  QSortFilterProxyModel* plans_proxy_;
  RankedPlanModel* ranked_;
  CapacityModel* capacity_;
  QLabel* plans_title_;
  QChartView* pareto_chart_;
  TopologyView* topology_;
  SweepView* sweep_;
  QLabel* status_;
  QLabel* selection_;
  QProgressBar* progress_;
  QPushButton* cancel_button_;
  QMenu* recent_menu_;
  QString path_;
};

}  // namespace scaleplan::gui
