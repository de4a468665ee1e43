#include "gui/views/colors.hpp"

namespace scaleplan::gui {

QColor stream_color(Stream stream) {
  switch (stream) {
    case Stream::compute:
      return compute_color();
    case Stream::tp_comm:
      return QColor(0xef, 0x86, 0x36);
    case Stream::cp_comm:
      return QColor(0x17, 0xbe, 0xcf);
    case Stream::ep_comm:
      return QColor(0x8c, 0x56, 0x4b);
    case Stream::dp_comm:
    case Stream::param_gather:
      return QColor(0x94, 0x67, 0xbd);
    case Stream::pp_send_next:
    case Stream::pp_recv_prev:
    case Stream::pp_send_prev:
    case Stream::pp_recv_next:
      return QColor(0x3a, 0x92, 0x3a);
  }
  return Qt::gray;
}

}  // namespace scaleplan::gui
