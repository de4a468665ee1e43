#include "gui/models/prediction_models.hpp"

#include <cmath>

namespace scaleplan::gui {

QString format_duration(double seconds) {
  const double magnitude = std::abs(seconds);
  if (magnitude < 1e-9)
    return "0 s";  // below the simulator's resolution of interest: rounding, not time
  if (magnitude >= 1)
    return QString::number(seconds, 'g', 4) + " s";
  if (magnitude >= 1e-3)
    return QString::number(seconds * 1e3, 'g', 3) + " ms";
  return QString::number(seconds * 1e6, 'g', 3) + QString::fromUtf8(" µs");
}

QString format_usd(double usd) {
  if (usd >= 1e6)
    return "$" + QString::number(usd / 1e6, 'f', 2) + " M";
  if (usd >= 1e3)
    return "$" + QString::number(usd / 1e3, 'f', 1) + " k";
  return "$" + QString::number(usd, 'f', 0);
}

QString format_strategy(const ParallelismSpec& p) {
  QString numbers = QString("%1·%2·%3").arg(p.tp).arg(p.pp).arg(p.dp);
  QString names = "tp·pp·dp";
  if (p.cp > 1) {
    numbers += QString("·%1").arg(p.cp);
    names += "·cp";
  }
  if (p.ep > 1) {
    numbers += QString("·%1").arg(p.ep);
    names += "·ep";
  }
  return numbers + " (" + names + ")";
}

namespace {
QString bytes_text(double bytes) {
  return QString::fromStdString(format_bytes(bytes));
}
}  // namespace

void SummaryModel::set_prediction(const Prediction* p) {
  beginResetModel();
  rows_.clear();
  if (p) {
    const StepBreakdown& b = p->breakdown;
    rows_ = {
        {"scenario", QString::fromStdString(p->scenario)},
        {"device", QString("%1 × %2").arg(p->devices).arg(QString::fromStdString(p->device))},
        {"strategy", format_strategy(p->parallelism)},
        {"micro-batches", QString::number(p->microbatches)},
        {"step time", format_duration(p->step_time_s)},
        {"throughput", QString::number(p->tokens_per_s, 'f', 0) + " tokens/s"},
        {"MFU", QString::number(p->mfu * 100, 'f', 1) + " %"},
        {"model TFLOP/s per device", QString::number(p->model_tflops_per_device, 'f', 1)},
        {"compute", format_duration(b.compute_s)},
        {"exposed communication", format_duration(b.exposed_comm_s)},
        {"pipeline bubble", format_duration(b.bubble_s)},
        {"peak memory", bytes_text(p->memory.peak_bytes) + " of " +
                            bytes_text(p->memory.capacity_bytes) +
                            (p->memory.fits ? "" : "  (does not fit)")},
        {"events simulated", QString::number(p->events)},
    };
  }
  endResetModel();
}

int SummaryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(rows_.size());
}
int SummaryModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : 2;
}
QVariant SummaryModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid) || role != Qt::DisplayRole)
    return {};
  const Row& row = rows_[std::size_t(index.row())];
  return index.column() == 0 ? row.quantity : row.value;
}
QVariant SummaryModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return {};
  return section == 0 ? QString("quantity") : QString("value");
}

void CompareModel::add(std::shared_ptr<const RunResult> run) {
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (runs_[i]->prediction.scenario == run->prediction.scenario) {
      runs_[i] = std::move(run);
      emit dataChanged(index(int(i), 0), index(int(i), column_count - 1));
      return;
    }
  }
  beginInsertRows({}, int(runs_.size()), int(runs_.size()));
  runs_.push_back(std::move(run));
  endInsertRows();
}

void CompareModel::clear() {
  beginResetModel();
  runs_.clear();
  endResetModel();
}

int CompareModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(runs_.size());
}
int CompareModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : column_count;
}

QVariant CompareModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid))
    return {};
  const Prediction& p = runs_[std::size_t(index.row())]->prediction;
  if (role == Qt::TextAlignmentRole)
    return index.column() >= step_time ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
  if (role != Qt::DisplayRole && role != Qt::UserRole)
    return {};
  const bool raw = role == Qt::UserRole;
  switch (index.column()) {
    case scenario:
      return QString::fromStdString(p.scenario);
    case devices:
      return raw ? QVariant(p.devices)
                 : QVariant(
                       QString("%1 × %2").arg(p.devices).arg(QString::fromStdString(p.device)));
    case strategy:
      return format_strategy(p.parallelism);
    case step_time:
      return raw ? QVariant(p.step_time_s) : QVariant(format_duration(p.step_time_s));
    case compute:
      return raw ? QVariant(p.breakdown.compute_s)
                 : QVariant(format_duration(p.breakdown.compute_s));
    case exposed_comm:
      return raw ? QVariant(p.breakdown.exposed_comm_s)
                 : QVariant(format_duration(p.breakdown.exposed_comm_s));
    case bubble:
      return raw ? QVariant(p.breakdown.bubble_s) : QVariant(format_duration(p.breakdown.bubble_s));
    case mfu:
      return raw ? QVariant(p.mfu) : QVariant(QString::number(p.mfu * 100, 'f', 1) + " %");
    case peak_memory:
      return raw ? QVariant(p.memory.peak_bytes)
                 : QVariant(QString::fromStdString(format_bytes(p.memory.peak_bytes)));
    case fits:
      return raw ? QVariant(p.memory.fits) : QVariant(p.memory.fits ? "yes" : "no");
    default:
      return {};
  }
}

QVariant CompareModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return {};
  static const char* const names[column_count] = {
      "scenario",      "devices", "strategy", "step time",   "compute",
      "exposed comm.", "bubble",  "MFU",      "peak memory", "fits"};
  return section >= 0 && section < column_count ? QString(names[section]) : QVariant();
}

void RankedPlanModel::set_search(std::shared_ptr<const SearchResult> search) {
  beginResetModel();
  search_ = std::move(search);
  endResetModel();
}

int RankedPlanModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() || !search_ ? 0 : int(search_->search.ranked.size());
}
int RankedPlanModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : column_count;
}

QVariant RankedPlanModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid))
    return {};
  const RankedPlan& plan = search_->search.ranked[std::size_t(index.row())];
  const ParallelismSpec& p = plan.job.parallelism;
  if (role == Qt::TextAlignmentRole)
    return index.column() >= step_time || index.column() == rank
               ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
               : QVariant();
  if (role != Qt::DisplayRole && role != Qt::UserRole)
    return {};
  const bool raw = role == Qt::UserRole;
  const Prediction* simulated = plan.simulated ? &*plan.simulated : nullptr;
  const double compute_s = simulated ? simulated->breakdown.compute_s : plan.estimate.compute_s;
  const double exposed_s =
      simulated ? simulated->breakdown.exposed_comm_s : plan.estimate.exposed_comm_s;
  const double bubble_s = simulated ? simulated->breakdown.bubble_s : plan.estimate.bubble_s;
  const double peak = simulated ? simulated->memory.peak_bytes : plan.estimate.memory.peak_bytes;
  switch (index.column()) {
    case rank:
      return index.row() + 1;
    case strategy:
      return format_strategy(p);
    case micro_batch:
      return qlonglong(plan.job.training.micro_batch);
    case schedule: {
      QString text = QString::fromUtf8(to_string(p.schedule).data());
      if (p.schedule == PipelineSchedule::interleaved_1f1b)
        text += QString(" ×%1").arg(p.virtual_stages);
      return text;
    }
    case recompute:
      return QString::fromUtf8(to_string(p.recompute).data());
    case zero:
      return p.zero;
    case sequence_parallel:
      return raw ? QVariant(p.sequence_parallel) : QVariant(p.sequence_parallel ? "yes" : "no");
    case step_time:
      return raw ? QVariant(plan.step_time_s) : QVariant(format_duration(plan.step_time_s));
    case compute:
      return raw ? QVariant(compute_s) : QVariant(format_duration(compute_s));
    case exposed_comm:
      return raw ? QVariant(exposed_s) : QVariant(format_duration(exposed_s));
    case bubble:
      return raw ? QVariant(bubble_s) : QVariant(format_duration(bubble_s));
    case mfu:
      if (!simulated)
        return {};
      return raw ? QVariant(simulated->mfu)
                 : QVariant(QString::number(simulated->mfu * 100, 'f', 1) + " %");
    case peak_memory:
      return raw ? QVariant(peak) : QVariant(QString::fromStdString(format_bytes(peak)));
    case cost:
      if (plan.cost_usd <= 0)
        return {};  // the catalog has no price for the device
      return raw ? QVariant(plan.cost_usd) : QVariant(QString("$%1").arg(plan.cost_usd, 0, 'f', 2));
    default:
      return {};
  }
}

QVariant RankedPlanModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return {};
  static const char* const names[column_count] = {
      "#",      "strategy",  "micro-batch", "schedule",     "recompute",
      "ZeRO",   "seq. par.", "step time",   "compute",      "exposed comm.",
      "bubble", "MFU",       "peak memory", "cost per step"};
  return section >= 0 && section < column_count ? QString(names[section]) : QVariant();
}

void CapacityModel::set_capacity(std::shared_ptr<const CapacityResult> capacity) {
  beginResetModel();
  capacity_ = std::move(capacity);
  endResetModel();
}

int CapacityModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() || !capacity_ ? 0 : int(capacity_->report.rows.size());
}
int CapacityModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : column_count;
}

QVariant CapacityModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid))
    return {};
  const capacity::OptionResult& row = capacity_->report.rows[std::size_t(index.row())];
  if (role == Qt::TextAlignmentRole)
    return index.column() >= step_time && index.column() <= cost
               ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
               : QVariant();
  if (role != Qt::DisplayRole && role != Qt::UserRole)
    return {};
  const bool raw = role == Qt::UserRole;
  const capacity::ChosenPlan* plan = row.has_plan() ? &*row.outcome.plan : nullptr;
  const double wall_days = row.goodput.wall_s / 86400;
  switch (index.column()) {
    case option:
      return QString::fromStdString(row.option);
    case pricing:
      return QString::fromUtf8(capacity::pricing_names.name(row.pricing).data());
    case devices:
      return raw ? QVariant(row.size.devices)
                 : QVariant(QString("%1 × %2")
                                .arg(row.size.devices)
                                .arg(QString::fromStdString(row.device)));
    case strategy:
      return plan ? format_strategy(plan->job.parallelism)
                  : QString::fromStdString(printable_text(row.outcome.why_none));
    case step_time:
      if (!plan)
        return {};
      return raw ? QVariant(plan->prediction.step_time_s)
                 : QVariant(format_duration(plan->prediction.step_time_s));
    case days:
      if (!plan)
        return {};
      return raw ? QVariant(wall_days) : QVariant(QString::number(wall_days, 'f', 1) + " days");
    case cost:
      if (!plan)
        return {};
      return raw ? QVariant(row.cost.usd) : QVariant(format_usd(row.cost.usd));
    case on_front:
      return raw ? QVariant(row.on_front) : QVariant(row.on_front ? "yes" : "");
    case meets:
      return raw ? QVariant(row.satisfies())
                 : QVariant(row.satisfies()
                                ? QString("yes")
                                : QString::fromStdString(printable_text(
                                      row.misses.empty() ? "no plan" : row.misses.front())));
    default:
      return {};
  }
}

QVariant CapacityModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return {};
  static const char* const names[column_count] = {
      "cluster",   "pricing",      "devices",
      "best plan", "step time",    "time to train",
      "cost",      "Pareto front", "meets deadline and budget"};
  return section >= 0 && section < column_count ? QString(names[section]) : QVariant();
}

}  // namespace scaleplan::gui
