// Rendering without a window: a chart or a widget to PNG or SVG at a fixed size. The window's
// --screenshot and the headless reports (a sweep's charts, say) call these, so that a chart
// looks the same on screen and in a file. Needs a QApplication (QT_QPA_PLATFORM=offscreen
// serves where there is no display).
#pragma once

#include <QSize>
#include <QString>
#include <QtCharts/QChart>

class QWidget;

namespace scaleplan::gui {

// Renders `chart` (ownership taken) at `size` pixels into `path`: SVG when it ends in .svg, PNG
// otherwise. Returns false with `error` set when the file cannot be written.
bool render_chart(QChart* chart, QSize size, const QString& path, QString* error = nullptr);

// Renders `widget` at its current size into a PNG (or SVG) at `path`.
bool render_widget(QWidget& widget, const QString& path, QString* error = nullptr);

}  // namespace scaleplan::gui
