#include "gui/models/sweep_results.hpp"

#include <variant>

#include <QLocale>
#include <QStandardItemModel>

namespace scaleplan::gui {

QStandardItem* result_item(const QString& text, const QVariant& value) {
  auto* item = new QStandardItem(text);
  item->setData(value, Qt::UserRole);
  item->setEditable(false);
  if (value.typeId() == QMetaType::Double)
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

void fill_results_model(QStandardItemModel& model, const sweep::ResultTable& table) {
  model.clear();
  QStringList header;
  for (const std::string& column : table.columns)
    header << QString::fromStdString(column);
  model.setHorizontalHeaderLabels(header);
  for (const std::vector<sweep::Cell>& cells : table.rows) {
    QList<QStandardItem*> row;
    for (const sweep::Cell& cell : cells) {
      if (const auto* i = std::get_if<std::int64_t>(&cell)) {
        row << result_item(QString::number(*i), double(*i));
      } else if (const auto* d = std::get_if<double>(&cell)) {
        row << result_item(QString::number(*d, 'g', QLocale::FloatingPointShortest), *d);
      } else if (const auto* s = std::get_if<std::string>(&cell)) {
        const QString text = QString::fromStdString(*s);
        row << result_item(text, text);
      } else if (const auto* b = std::get_if<bool>(&cell)) {
        const QString text = *b ? "true" : "false";
        row << result_item(text, text);
      } else {
        row << result_item(QString(), QVariant());
      }
    }
    model.appendRow(row);
  }
}

QString result_column_title(const QString& column) {
  static const QHash<QString, QString> titles = {
      {"step_time_s", "step time (s)"},
      {"tokens_per_s", "throughput (tokens/s)"},
      {"model_tflops_per_device", "model TFLOP/s per device"},
      {"mfu", "MFU (fraction of peak)"},
      {"peak_memory_bytes", "peak memory (bytes)"},
      {"memory_capacity_bytes", "device memory (bytes)"},
      {"compute_s", "compute (s)"},
      {"exposed_comm_s", "exposed communication (s)"},
      {"bubble_s", "pipeline bubble (s)"},
      {"power_w", "power (W)"},
      {"energy_per_step_j", "energy per step (J)"},
      {"usd_per_hour", "rent (USD per hour)"},
      {"usd_per_step", "cost of a step (USD)"},
  };
  return titles.value(column, column);
}

}  // namespace scaleplan::gui
