#include "gui/views/render.hpp"

#include <QCoreApplication>
#include <QImage>
#include <QPainter>
#include <QSvgGenerator>
#include <QWidget>
#include <QtCharts/QChartView>

namespace scaleplan::gui {
namespace {

bool write(const QString& path, QSize size, const std::function<void(QPainter&)>& draw,
           QString* error) {
  if (path.endsWith(".svg", Qt::CaseInsensitive)) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    QPainter painter;
    if (!painter.begin(&svg)) {
      if (error)
        *error = "cannot write " + path;
      return false;
    }
    draw(painter);
    return painter.end();
  }
  QImage image(size, QImage::Format_ARGB32);
  image.fill(Qt::white);
  {
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    draw(painter);
  }
  if (!image.save(path, "PNG")) {
    if (error)
      *error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace

bool render_chart(QChart* chart, QSize size, const QString& path, QString* error) {
  QChartView view(chart);  // owns the chart from here
  view.setRenderHint(QPainter::Antialiasing);
  view.setFrameShape(QFrame::NoFrame);
  // A chart lays itself out on the events of a view that is shown: show it (never on a screen)
  // and let those events run, so that the file holds what a window would.
  view.setAttribute(Qt::WA_DontShowOnScreen);
  view.resize(size);
  view.show();
  QCoreApplication::sendPostedEvents();
  QCoreApplication::processEvents();
  return write(
      path, size, [&](QPainter& painter) { view.render(&painter); }, error);
}

bool render_widget(QWidget& widget, const QString& path, QString* error) {
  return write(
      path, widget.size(), [&](QPainter& painter) { widget.render(&painter); }, error);
}

}  // namespace scaleplan::gui
