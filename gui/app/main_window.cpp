#include "gui/app/main_window.hpp"

#include <fstream>
#include <sstream>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QUndoStack>
#include <QVBoxLayout>
#include <QtCharts/QChartView>

#include "gui/app/scenario_editor.hpp"
#include "gui/views/charts.hpp"
#include "gui/views/render.hpp"
#include "gui/views/sweep_view.hpp"
#include "gui/views/timeline_view.hpp"
#include "gui/views/topology_view.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "sim/timeline/chrome_trace_reader.hpp"

namespace scaleplan::gui {
namespace {

constexpr int max_recent_files = 8;

QChartView* chart_view(QWidget* parent) {
  auto* view = new QChartView(parent);
  view->setRenderHint(QPainter::Antialiasing);
  return view;
}

void replace_chart(QChartView* view, QChart* chart) {
  QChart* old = view->chart();
  view->setChart(chart);
  delete old;
}

QTableView* table_view(QAbstractItemModel* model, QWidget* parent) {
  auto* table = new QTableView(parent);
  table->setModel(model);
  table->setSelectionBehavior(QAbstractItemView::SelectRows);
  table->horizontalHeader()->setStretchLastSection(true);
  table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table->verticalHeader()->setVisible(false);
  table->setAlternatingRowColors(true);
  return table;
}

// A view with a title line above it, saying what it shows.
QWidget* titled(const QString& title, QWidget* content, QWidget* second = nullptr) {
  auto* page = new QWidget;
  auto* layout = new QVBoxLayout(page);
  auto* label = new QLabel(title, page);
  label->setWordWrap(true);
  layout->addWidget(label);
  if (second) {
    auto* split = new QSplitter(Qt::Vertical, page);
    split->addWidget(content);
    split->addWidget(second);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);
  } else {
    layout->addWidget(content, 1);
  }
  return page;
}

}  // namespace

MainWindow::MainWindow(const Catalog& catalog, QWidget* parent)
    : QMainWindow(parent), catalog_(catalog) {
  undo_ = new QUndoStack(this);
  jobs_ = new SimulationJobs(catalog_, this);
  editor_ = new ScenarioEditor(catalog_, undo_, this);
  auto* editor_scroll = new QScrollArea(this);
  editor_scroll->setWidget(editor_);
  editor_scroll->setWidgetResizable(true);
  editor_scroll->setMinimumWidth(340);

  tabs_ = new QTabWidget(this);
  summary_ = new SummaryModel(this);
  summary_table_ = table_view(summary_, this);
  summary_table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  tabs_->addTab(titled("The prediction, as `scaleplan run` reports it.", summary_table_),
                "Summary");
  timeline_ = new TimelineView(this);
  selection_ = new QLabel("Click an op to select it and draw its dependencies.", this);
  selection_->setWordWrap(true);
  selection_->setTextFormat(Qt::RichText);
  auto* timeline_page = new QWidget(this);
  auto* timeline_layout = new QVBoxLayout(timeline_page);
  timeline_layout->addWidget(timeline_, 1);
  timeline_layout->addWidget(selection_);
  tabs_->addTab(timeline_page, "Timeline");
  memory_chart_ = chart_view(this);
  tabs_->addTab(memory_chart_, "Memory");
  compare_ = new CompareModel(this);
  compare_chart_ = chart_view(this);
  compare_table_ = table_view(compare_, this);
  tabs_->addTab(titled("Every run of this session, side by side (the latest run of each scenario).",
                       compare_chart_, compare_table_),
                "Compare");
  ranked_ = new RankedPlanModel(this);
  capacity_ = new CapacityModel(this);
  plans_proxy_ = new QSortFilterProxyModel(this);
  plans_proxy_->setSourceModel(compare_);
  plans_proxy_->setSortRole(Qt::UserRole);
  auto* plans_table = table_view(plans_proxy_, this);
  plans_table->setSortingEnabled(true);
  plans_table->sortByColumn(CompareModel::step_time, Qt::AscendingOrder);
  connect(plans_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
    if (plans_proxy_->sourceModel() == ranked_)
      use_ranked_plan(plans_proxy_->mapToSource(index).row());
  });
  pareto_chart_ = chart_view(this);
  auto* plans_page = new QWidget(this);
  auto* plans_layout = new QVBoxLayout(plans_page);
  plans_title_ = new QLabel(
      "Run ▸ Search Plans (Ctrl+P) ranks every plan of the scenario's cluster, model and batch, "
      "as `scaleplan plan` does. Until then, the runs of this session stand here.",
      this);
  plans_title_->setWordWrap(true);
  plans_layout->addWidget(plans_title_);
  auto* plans_split = new QSplitter(Qt::Vertical, plans_page);
  plans_split->addWidget(plans_table);
  plans_split->addWidget(pareto_chart_);
  plans_split->setStretchFactor(0, 1);
  plans_split->setStretchFactor(1, 1);
  plans_layout->addWidget(plans_split, 1);
  tabs_->addTab(plans_page, "Plans");
  topology_ = new TopologyView(this);
  tabs_->addTab(topology_, "Topology");
  sweep_ = new SweepView(this);
  tabs_->addTab(sweep_, "Sweep");

  auto* split = new QSplitter(this);
  split->addWidget(editor_scroll);
  split->addWidget(tabs_);
  split->setStretchFactor(1, 1);
  setCentralWidget(split);

  status_ = new QLabel("Ready", this);
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(260);
  progress_->setVisible(false);
  cancel_button_ = new QPushButton("Cancel", this);
  cancel_button_->setVisible(false);
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_button_);
  connect(cancel_button_, &QPushButton::clicked, this, &MainWindow::cancel);

  connect(jobs_, &SimulationJobs::started, this, [this] {
    status_->setText("Simulating…");
    progress_->setRange(0, 0);
    progress_->setVisible(true);
    cancel_button_->setVisible(true);
  });
  connect(jobs_, &SimulationJobs::progress, this,
          [this](quint64, const QString& task, quint64 done, quint64 total, const QString& units) {
            const int scale = total > 1000000 ? 1000 : 1;
            progress_->setRange(0, int(total / quint64(scale)));
            progress_->setValue(int(done / quint64(scale)));
            status_->setText(QString("%1: %2 of %3 %4").arg(task).arg(done).arg(total).arg(units));
          });
  const auto idle = [this](const QString& text) {
    status_->setText(text);
    progress_->setVisible(false);
    cancel_button_->setVisible(false);
  };
  connect(jobs_, &SimulationJobs::finished, this, [this, idle] {
    const Prediction& p = jobs_->result()->prediction;
    idle(QString("%1: step time %2, MFU %3 %")
             .arg(QString::fromStdString(p.scenario))
             .arg(format_duration(p.step_time_s))
             .arg(p.mfu * 100, 0, 'f', 1));
    show_result();
  });
  connect(jobs_, &SimulationJobs::search_finished, this, [this, idle] {
    const PlanSearch& search = jobs_->search()->search;
    idle(search.ranked.empty()
             ? QString("Plan search: no plan fits: %1")
                   .arg(QString::fromStdString(why_no_plan(
                       search.counts, jobs_->search()->scenario.cluster.smallest_memory_bytes())))
             : QString("Plan search: %1 plans ranked of %2; the best takes %3 a step")
                   .arg(search.ranked.size())
                   .arg(search.counts.enumerated)
                   .arg(format_duration(search.ranked.front().step_time_s)));
    show_search();
  });
  connect(jobs_, &SimulationJobs::capacity_finished, this, [this, idle] {
    const capacity::CapacityReport& report = jobs_->capacity()->report;
    idle(QString("Capacity: %1 clusters compared, %2 on the time/cost Pareto front")
             .arg(report.rows.size())
             .arg(report.front.size()));
    show_capacity();
  });
  connect(jobs_, &SimulationJobs::failed, this,
          [idle](quint64, const QString& message) { idle("Run failed: " + message); });
  connect(jobs_, &SimulationJobs::cancelled, this, [idle] { idle("Run cancelled"); });
  connect(timeline_, &TimelineView::op_selected, selection_, &QLabel::setText);
  connect(editor_, &ScenarioEditor::text_changed, this, &MainWindow::update_title);
  connect(undo_, &QUndoStack::cleanChanged, this, &MainWindow::update_title);

  build_menus();
  editor_->set_text("", "untitled.yaml");
  update_title();
  resize(1400, 900);
}

MainWindow::~MainWindow() = default;

void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu("&File");
  file->addAction("&Open…", QKeySequence::Open, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open a scenario", QString(),
                                                      "Scenarios (*.yaml *.yml);;All files (*)");
    if (!path.isEmpty() && maybe_save())
      open_file(path);
  });
  recent_menu_ = file->addMenu("Open &Recent");
  rebuild_recent_menu();
  file->addAction("Open S&weep Results…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(
        this, "Open sweep results", QString(),
        "Sweep results (*.csv *.jsonl *.ndjson *.json *.sqlite *.sqlite3 *.db);;All files (*)");
    if (!path.isEmpty())
      open_sweep(path);
  });
  file->addAction("Open &Measured Trace…", this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, "Open a measured step's trace", QString(),
                                     "Chrome traces (*.json *.json.gz);;All files (*)");
    if (!path.isEmpty())
      open_measured(path);
  });
  file->addAction("&Save", QKeySequence::Save, this, [this] { save(); });
  file->addAction("Save &As…", QKeySequence::SaveAs, this, [this] { save_as(); });
  file->addAction("&Export View as Image…", QKeySequence(Qt::CTRL | Qt::Key_E), this,
                  [this] { export_view(); });
  file->addSeparator();
  file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);

  QMenu* edit = menuBar()->addMenu("&Edit");
  QAction* undo = undo_->createUndoAction(this, "&Undo");
  undo->setShortcut(QKeySequence::Undo);
  QAction* redo = undo_->createRedoAction(this, "&Redo");
  redo->setShortcut(QKeySequence::Redo);
  edit->addAction(undo);
  edit->addAction(redo);

  QMenu* run = menuBar()->addMenu("&Run");
  QAction* start = run->addAction("&Run Simulation", this, [this] { this->run(); });
  start->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_R), QKeySequence(Qt::Key_F5)});
  QAction* plan = run->addAction("Search &Plans", this, [this] { search_plans(); });
  plan->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  run->addAction("Plan &Capacity…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open a capacity spec", QString(),
                                                      "Capacity specs (*.yaml *.yml)");
    if (!path.isEmpty())
      plan_capacity(path);
  });
  QAction* stop = run->addAction("&Cancel", this, &MainWindow::cancel);
  stop->setShortcut(QKeySequence(Qt::Key_Escape));
  run->addAction("C&lear Comparison", this, [this] {
    compare_->clear();
    refresh_comparison();
  });

  QMenu* views = menuBar()->addMenu("&View");
  const QStringList names = view_names();
  for (int i = 0; i < names.size(); ++i) {
    QAction* action =
        views->addAction(tabs_->tabText(i), this, [this, i] { tabs_->setCurrentIndex(i); });
    action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
  }
}

QStringList MainWindow::view_names() {
  return {"summary", "timeline", "memory", "compare", "plans", "topology", "sweep"};
}

bool MainWindow::show_view(const QString& name) {
  const int index = int(view_names().indexOf(name));
  if (index < 0)
    return false;
  tabs_->setCurrentIndex(index);
  return true;
}

QWidget* MainWindow::view(const QString& name) const {
  const int index = int(view_names().indexOf(name));
  return index < 0 ? nullptr : tabs_->widget(index);
}

QString MainWindow::plans_title() const {
  return plans_title_->text();
}

QString MainWindow::status_text() const {
  return status_->text();
}

bool MainWindow::open_file(const QString& path, bool quiet) {
  std::string text;
  try {
    text = read_input_file(path.toStdString());
  } catch (const std::exception& e) {
    if (!quiet)
      QMessageBox::warning(this, "Cannot open", QString::fromStdString(printable_text(e.what())));
    status_->setText(QString::fromStdString(printable_text(e.what())));
    return false;
  }
  path_ = path;
  editor_->set_text(text, path.toStdString());
  undo_->clear();
  undo_->setClean();
  remember_recent(path);
  update_title();
  status_->setText(editor_->validation().ok()
                       ? "Opened " + path + ". Run it with Ctrl+R."
                       : "Opened " + path + ": the forms show what is wrong.");
  return true;
}

bool MainWindow::save_file(const QString& path) {
  std::ofstream out(path.toStdString(), std::ios::binary);
  out << editor_->text();
  out.close();
  if (!out) {
    QMessageBox::warning(this, "Cannot save", "Cannot write " + path);
    return false;
  }
  path_ = path;
  // The file's own path from now on: errors name it, a calibration resolves against it.
  editor_->set_text(editor_->text(), path.toStdString());
  undo_->setClean();
  remember_recent(path);
  update_title();
  status_->setText("Saved " + path);
  return true;
}

bool MainWindow::save() {
  return path_.isEmpty() ? save_as() : save_file(path_);
}

bool MainWindow::save_as() {
  const QString path =
      QFileDialog::getSaveFileName(this, "Save the scenario", path_, "Scenarios (*.yaml *.yml)");
  return !path.isEmpty() && save_file(path);
}

bool MainWindow::maybe_save() {
  if (undo_->isClean())
    return true;
  const auto answer =
      QMessageBox::question(this, "Unsaved changes", "Save the changes to the scenario first?",
                            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
  if (answer == QMessageBox::Save)
    return save();
  return answer == QMessageBox::Discard;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (maybe_save())
    event->accept();
  else
    event->ignore();
}

bool MainWindow::open_measured(const QString& path) {
  try {
    auto measured = std::make_shared<const Timeline>(
        read_chrome_trace(read_input_file(path.toStdString()), path.toStdString()));
    timeline_->set_measured(std::move(measured));
  } catch (const std::exception& e) {
    status_->setText(QString::fromStdString(printable_text(e.what())));
    return false;
  }
  status_->setText("Measured step " + path + " beside the prediction (rows marked measured)");
  show_view("timeline");
  return true;
}

bool MainWindow::open_sweep(const QString& path) {
  QString error;
  if (!sweep_->load_results(path, &error)) {
    status_->setText(error);
    return false;
  }
  show_view("sweep");
  return true;
}

std::uint64_t MainWindow::run() {
  return jobs_->start({editor_->text(), editor_->file_label()});
}

std::uint64_t MainWindow::search_plans() {
  return jobs_->start_search({editor_->text(), editor_->file_label()});
}

void MainWindow::show_search() {
  const std::shared_ptr<const SearchResult> result = jobs_->search();
  ranked_->set_search(result);
  plans_proxy_->setSourceModel(ranked_);
  plans_proxy_->sort(RankedPlanModel::rank);
  const SearchCounts& counts = result->search.counts;
  if (result->search.ranked.empty()) {
    plans_title_->setText(
        QString("No plan for %1 fits: %2. A larger cluster, a smaller batch or a wider search: "
                "section may.")
            .arg(QString::fromStdString(result->scenario.name))
            .arg(QString::fromStdString(
                why_no_plan(counts, result->scenario.cluster.smallest_memory_bytes()))));
  } else {
    plans_title_->setText(
        QString("The planner's best %1 plans of %2 candidates for %3 (%4 pruned by the strategy "
                "rules, %5 by memory), simulated in full and ranked by step time. Double-click a "
                "plan to put it in the editor.")
            .arg(result->search.ranked.size())
            .arg(counts.enumerated)
            .arg(QString::fromStdString(result->scenario.name))
            .arg(counts.pruned_by_rule)
            .arg(counts.pruned_by_memory));
  }
  replace_chart(pareto_chart_, make_search_pareto_chart(*result));
  show_view("plans");
}

bool MainWindow::plan_capacity(const QString& spec_path) {
  try {
    jobs_->start_capacity({read_input_file(spec_path.toStdString()), spec_path.toStdString()});
  } catch (const std::exception& e) {
    status_->setText(QString::fromStdString(printable_text(e.what())));
    return false;
  }
  return true;
}

void MainWindow::show_capacity() {
  const std::shared_ptr<const CapacityResult> result = jobs_->capacity();
  capacity_->set_capacity(result);
  plans_proxy_->setSourceModel(capacity_);
  plans_proxy_->sort(-1);
  if (auto* table =
          qobject_cast<QTableView*>(pareto_chart_->parentWidget()->findChild<QTableView*>()))
    table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
  const capacity::CapacityReport& report = result->report;
  plans_title_->setText(
      QString("The capacity planner on %1: %2, %3 B tokens in steps of %4 sequences. Each "
              "cluster's fastest plan (the planner's), its time to train with failures and "
              "checkpoints and its cost, rented and bought, as `scaleplan capacity` reports.")
          .arg(QString::fromStdString(result->spec))
          .arg(QString::fromStdString(report.model))
          .arg(report.tokens / 1e9, 0, 'f', 0)
          .arg(report.global_batch));
  replace_chart(pareto_chart_, make_capacity_chart(*result));
  show_view("plans");
}

bool MainWindow::use_ranked_plan(int row) {
  const std::shared_ptr<const SearchResult> result = jobs_->search();
  if (!result || row < 0 || row >= int(result->search.ranked.size()))
    return false;
  const TrainingJob& job = result->search.ranked[std::size_t(row)].job;
  const ParallelismSpec& p = job.parallelism;
  undo_->beginMacro(QString("use plan %1").arg(row + 1));
  const std::vector<std::pair<std::string, std::string>> values = {
      {"training.micro_batch", std::to_string(job.training.micro_batch)},
      {"parallelism.tp", std::to_string(p.tp)},
      {"parallelism.pp", std::to_string(p.pp)},
      {"parallelism.dp", std::to_string(p.dp)},
      {"parallelism.cp", std::to_string(p.cp)},
      {"parallelism.ep", std::to_string(p.ep)},
      {"parallelism.schedule", std::string(to_string(p.schedule))},
      {"parallelism.virtual_stages", std::to_string(p.virtual_stages)},
      {"parallelism.zero", std::to_string(p.zero)},
      {"parallelism.recompute", std::string(to_string(p.recompute))},
      {"parallelism.sequence_parallel", p.sequence_parallel ? "true" : "false"}};
  bool ok = true;
  for (const auto& [key, value] : values)
    ok = editor_->edit_field(key, value) && ok;
  undo_->endMacro();
  status_->setText(QString("Plan %1 is in the editor: run it with Ctrl+R").arg(row + 1));
  return ok;
}

void MainWindow::cancel() {
  jobs_->cancel();
}

void MainWindow::show_result() {
  std::shared_ptr<const RunResult> result = jobs_->result();
  summary_->set_prediction(&result->prediction);
  timeline_->set_run(result);
  if (!result->timeline_note.empty())
    selection_->setText(QString::fromStdString(result->timeline_note));
  replace_chart(memory_chart_, make_memory_chart(result->prediction));
  topology_->set_run(result);
  compare_->add(result);
  refresh_comparison();
}

void MainWindow::refresh_comparison() {
  replace_chart(compare_chart_, make_compare_chart(compare_->runs()));
  if (plans_proxy_->sourceModel() == compare_)
    replace_chart(pareto_chart_, make_runs_pareto_chart(compare_->runs()));
}

QStringList MainWindow::recent_files() const {
  return QSettings().value("recent_files").toStringList();
}

void MainWindow::remember_recent(const QString& path) {
  QStringList files = recent_files();
  const QString absolute = QFileInfo(path).absoluteFilePath();
  files.removeAll(absolute);
  files.prepend(absolute);
  while (files.size() > max_recent_files)
    files.removeLast();
  QSettings().setValue("recent_files", files);
  rebuild_recent_menu();
}

void MainWindow::rebuild_recent_menu() {
  recent_menu_->clear();
  const QStringList files = recent_files();
  for (const QString& file : files) {
    recent_menu_->addAction(file, this, [this, file] {
      if (maybe_save())
        open_file(file);
    });
  }
  recent_menu_->setEnabled(!files.isEmpty());
}

void MainWindow::update_title() {
  const QString name = path_.isEmpty() ? "untitled" : QFileInfo(path_).fileName();
  setWindowTitle(QString("%1%2 — scaleplan").arg(name).arg(undo_->isClean() ? "" : " *"));
}

void MainWindow::export_view() {
  const QString path = QFileDialog::getSaveFileName(this, "Export the view", QString(),
                                                    "PNG image (*.png);;SVG drawing (*.svg)");
  if (path.isEmpty())
    return;
  QString error;
  if (!render_widget(*tabs_->currentWidget(), path, &error))
    QMessageBox::warning(this, "Cannot export", error);
}

}  // namespace scaleplan::gui
