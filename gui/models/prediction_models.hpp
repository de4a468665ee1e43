// Item models over the library's predictions (no widgets): one prediction as quantity and value
// rows, and several runs side by side (the compare and plans views). The numbers are the
// Prediction's, formatted as the views show them; the raw value is under Qt::UserRole so that a
// sort proxy sorts numbers as numbers.
#pragma once

#include <memory>
#include <vector>

#include <QAbstractTableModel>
#include <QString>

#include "gui/models/simulation_job.hpp"
#include "sim/report/prediction.hpp"

namespace scaleplan::gui {

// "1.234 s", "12.3 ms", "45 µs": three significant digits in the unit that fits.
QString format_duration(double seconds);
// "$1.23 M", "$45.6 k", "$789": three significant digits in the unit that fits.
QString format_usd(double usd);
// "4·8·2 (tp·pp·dp)" with cp and ep where above 1.
QString format_strategy(const ParallelismSpec& parallelism);

// A prediction as (quantity, value) rows: step time, throughput, MFU, its breakdown and memory.
class SummaryModel final : public QAbstractTableModel {
  Q_OBJECT

 public:
  using QAbstractTableModel::QAbstractTableModel;
  void set_prediction(const Prediction* prediction);  // null: empty

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  struct Row {
    QString quantity;
    QString value;
  };
  std::vector<Row> rows_;
};

// Runs side by side, one row each: the scenario, devices, strategy, step time and its split into
// compute, exposed communication and bubble, MFU, peak memory and whether it fits.
class CompareModel final : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    scenario,
    devices,
    strategy,
    step_time,
    compute,
    exposed_comm,
    bubble,
    mfu,
    peak_memory,
    fits,
    column_count
  };
  using QAbstractTableModel::QAbstractTableModel;

  // Adds a run, or replaces the one of the same scenario name.
  void add(std::shared_ptr<const RunResult> run);
  void clear();
  const std::vector<std::shared_ptr<const RunResult>>& runs() const { return runs_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<std::shared_ptr<const RunResult>> runs_;
};

// The planner's ranked plans (a SearchResult), best first: their strategy, micro-batch, schedule,
// recompute, ZeRO and sequence parallelism, and their simulated step time, split, MFU, peak
// memory and cost per step, as `scaleplan plan` ranks them.
class RankedPlanModel final : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    rank,
    strategy,
    micro_batch,
    schedule,
    recompute,
    zero,
    sequence_parallel,
    step_time,
    compute,
    exposed_comm,
    bubble,
    mfu,
    peak_memory,
    cost,
    column_count
  };
  using QAbstractTableModel::QAbstractTableModel;
  void set_search(std::shared_ptr<const SearchResult> search);  // null: empty

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::shared_ptr<const SearchResult> search_;
};

// The capacity planner's clusters, one row per cluster and pricing, in the spec's order: its
// best plan, the time to train (with failures and checkpoints), the cost, and whether it is on
// the time/cost Pareto front and meets the deadline and budget, as `scaleplan capacity` reports.
class CapacityModel final : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    option,
    pricing,
    devices,
    strategy,
    step_time,
    days,
    cost,
    on_front,
    meets,
    column_count
  };
  using QAbstractTableModel::QAbstractTableModel;
  void set_capacity(std::shared_ptr<const CapacityResult> capacity);  // null: empty

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::shared_ptr<const CapacityResult> capacity_;
};

}  // namespace scaleplan::gui
