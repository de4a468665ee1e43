// The colours every view gives the same thing: a stream's group, a part of the step, a part of
// memory. One table, so that the timeline, the charts and the reports agree.
#pragma once

#include <QColor>

#include "sim/plan/plan.hpp"

namespace scaleplan::gui {

QColor stream_color(Stream stream);

// The parts of a step time: compute, exposed communication, pipeline bubble.
inline QColor compute_color() {
  return QColor(0x3b, 0x75, 0xaf);
}
inline QColor communication_color() {
  return QColor(0xef, 0x86, 0x36);
}
inline QColor bubble_color() {
  return QColor(0xaa, 0xaa, 0xaa);
}

}  // namespace scaleplan::gui
