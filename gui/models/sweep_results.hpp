// A sweep's results (sim/sweep/sweep_summary.hpp's ResultTable, read from a CSV, JSON lines or
// SQLite results file) as the item model the sweep view's table and heat map show, and the
// titles with units that the views give the results' columns.
#pragma once

#include <QString>

#include "sim/sweep/sweep_summary.hpp"

class QStandardItemModel;
class QStandardItem;

namespace scaleplan::gui {

// One cell of a table of results: `text` shown; `value` (Qt::UserRole) a double for a number, the
// text otherwise, invalid for a missing value (a failed row's results), so that numbers sort as
// numbers and a missing value sorts first and maps nowhere.
QStandardItem* result_item(const QString& text, const QVariant& value);

// Replaces `model`'s rows and columns with `table`'s: a column per column of the results, a row
// per scenario, cells made by result_item (true and false as text).
void fill_results_model(QStandardItemModel& model, const sweep::ResultTable& table);

// A results column's title with its unit, for charts and the heat map: "step_time_s" is
// "step time (s)", "mfu" is "MFU (fraction of peak)", an axis key stays as it is.
QString result_column_title(const QString& column);

}  // namespace scaleplan::gui
