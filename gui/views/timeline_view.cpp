#include "gui/views/timeline_view.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <QWheelEvent>

#include "gui/models/prediction_models.hpp"
#include "gui/views/colors.hpp"

namespace scaleplan::gui {
namespace {

constexpr int label_width = 150;
constexpr int row_height = 16;
constexpr int axis_height = 22;
constexpr int memory_height = 150;

QString seconds_label(double seconds) {
  return format_duration(seconds);
}

// A round step of about `target` for an axis: 1, 2 or 5 times a power of ten.
double nice_step(double target) {
  const double power = std::pow(10.0, std::floor(std::log10(target)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= target)
      return m * power;
  }
  return 10 * power;
}

const RankProgram* program_of(const RunResult& run, int timeline_rank) {
  const int rank = run.timeline.ranks[std::size_t(timeline_rank)];
  for (const RankProgram& program : run.plan.ranks) {
    if (program.rank == rank)
      return &program;
  }
  return nullptr;
}

}  // namespace

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(400, 250);
  setAccessibleName("timeline");
}

void TimelineView::set_run(std::shared_ptr<const RunResult> run) {
  run_ = std::move(run);
  rows_ = run_ ? timeline_rows(run_->timeline) : std::vector<TimelineRow>{};
  selected_.reset();
  first_row_ = 0;
  t0_ = 0;
  t1_ = run_ ? std::max<std::int64_t>(1, run_->timeline.end_ps()) : 1;
  rebuild_drawn_rows();
  update();
}

void TimelineView::set_measured(std::shared_ptr<const Timeline> measured) {
  measured_ = std::move(measured);
  measured_rows_ = measured_ ? timeline_rows(*measured_) : std::vector<TimelineRow>{};
  if (measured_)
    t1_ = std::max(t1_, measured_->end_ps());
  rebuild_drawn_rows();
  update();
}

void TimelineView::rebuild_drawn_rows() {
  drawn_.clear();
  std::map<std::pair<int, int>, const TimelineRow*> measured_by_key;
  for (const TimelineRow& row : measured_rows_)
    measured_by_key[{row.rank, int(row.stream)}] = &row;
  for (const TimelineRow& row : rows_) {
    drawn_.push_back({&run_->timeline, &row, false});
    if (auto it = measured_by_key.find({row.rank, int(row.stream)}); it != measured_by_key.end())
      drawn_.push_back({measured_.get(), it->second, true});
  }
}

void TimelineView::set_window(std::int64_t t0_ps, std::int64_t t1_ps) {
  std::int64_t end = run_ ? std::max<std::int64_t>(1, run_->timeline.end_ps()) : 1;
  if (measured_)
    end = std::max(end, measured_->end_ps());
  const std::int64_t span = std::clamp<std::int64_t>(t1_ps - t0_ps, 1000, end);
  t0_ = std::clamp<std::int64_t>(t0_ps, 0, end - span);
  t1_ = t0_ + span;
  update();
}

void TimelineView::zoom(double factor, double anchor_fraction) {
  const double span = double(t1_ - t0_);
  const double anchor = double(t0_) + anchor_fraction * span;
  const double new_span = span / factor;
  set_window(std::int64_t(anchor - anchor_fraction * new_span),
             std::int64_t(anchor + (1 - anchor_fraction) * new_span));
}

QRect TimelineView::plot_rect() const {
  return QRect(label_width, axis_height, std::max(1, width() - label_width - 8),
               std::max(row_height, height() - axis_height - memory_height - 8));
}

QRect TimelineView::memory_rect() const {
  const QRect plot = plot_rect();
  return QRect(plot.left(), plot.bottom() + 42, plot.width(), memory_height - 50);
}

int TimelineView::visible_rows() const {
  return std::max(1, plot_rect().height() / row_height);
}

std::int64_t TimelineView::time_at(int x) const {
  const QRect plot = plot_rect();
  return t0_ + std::int64_t(double(x - plot.left()) * double(t1_ - t0_) / plot.width());
}

int TimelineView::x_at(std::int64_t t) const {
  const QRect plot = plot_rect();
  return plot.left() + int(double(t - t0_) * plot.width() / double(t1_ - t0_));
}

std::optional<std::uint32_t> TimelineView::op_at_point(QPoint point) const {
  const QRect plot = plot_rect();
  if (!run_ || !plot.contains(point))
    return std::nullopt;
  const std::size_t index = std::size_t(first_row_ + (point.y() - plot.top()) / row_height);
  if (index >= drawn_.size() || drawn_[index].measured)
    return std::nullopt;
  // Within two pixels, so that an op narrower than a pixel can still be picked.
  const std::int64_t slack = std::max<std::int64_t>(1, (t1_ - t0_) / plot.width() * 2);
  const std::int64_t t = time_at(point.x());
  const TimelineRow& row = *drawn_[index].row;
  if (auto op = gui::op_at(run_->timeline, row, t))
    return op;
  if (auto op = gui::op_at(run_->timeline, row, t + slack))
    return op;
  return gui::op_at(run_->timeline, row, t - slack);
}

void TimelineView::select(std::optional<std::uint32_t> op) {
  selected_ = op;
  if (op)
    emit op_selected(describe(*op));
  update();
}

QString TimelineView::describe(std::uint32_t index) const {
  if (!run_ || index >= run_->timeline.ops.size())
    return {};
  const Timeline& timeline = run_->timeline;
  const TimelineOp& op = timeline.ops[index];
  QString text = QString("<b>%1</b><br>rank %2 · %3 · %4")
                     .arg(QString::fromStdString(timeline.labels[op.label]).toHtmlEscaped())
                     .arg(timeline.ranks[std::size_t(op.rank)])
                     .arg(QString::fromUtf8(to_string(op.stream).data()))
                     .arg(QString::fromUtf8(to_string(op.kind).data()));
  if (op.microbatch >= 0)
    text += QString(" · micro-batch %1").arg(op.microbatch);
  text += "<br>duration " + seconds_label(double(op.end_ps - op.start_ps) * 1e-12) + ", from " +
          seconds_label(double(op.start_ps) * 1e-12) + " to " +
          seconds_label(double(op.end_ps) * 1e-12);
  if (const RankProgram* program = program_of(*run_, op.rank); program) {
    const Op& planned = program->ops[op.op];
    if (planned.kind == OpKind::compute) {
      const ComputeBlock& block = run_->plan.blocks[planned.block];
      int shown = 0;
      for (const Kernel& kernel : block.kernels) {
        if (kernel.kind != KernelKind::gemm && kernel.kind != KernelKind::attention)
          continue;
        if (shown++ == 6) {
          text += "<br>…";
          break;
        }
        text += QString("<br>%1 %2: m %3 × n %4 × k %5")
                    .arg(QString::fromUtf8(to_string(kernel.kind).data()))
                    .arg(QString::fromStdString(kernel.name).toHtmlEscaped())
                    .arg(kernel.gemm.m)
                    .arg(kernel.gemm.n)
                    .arg(kernel.gemm.k);
        if (kernel.gemm.batch > 1)
          text += QString(" (batch %1)").arg(kernel.gemm.batch);
      }
    } else if (planned.kind == OpKind::collective) {
      const Group& group = run_->plan.groups[planned.group];
      text += QString("<br>%1 over %2 (%3 ranks), %4")
                  .arg(QString::fromUtf8(to_string(planned.collective).data()))
                  .arg(QString::fromStdString(group.name))
                  .arg(group.ranks.size())
                  .arg(QString::fromStdString(format_bytes(planned.bytes)));
    } else {
      text += QString("<br>%1 rank %2, %3")
                  .arg(planned.kind == OpKind::send ? "to" : "from")
                  .arg(planned.peer)
                  .arg(QString::fromStdString(format_bytes(planned.bytes)));
    }
  }
  return text;
}

std::vector<std::uint32_t> TimelineView::dependencies(std::uint32_t index) const {
  std::vector<std::uint32_t> out;
  if (!run_ || index >= run_->timeline.ops.size())
    return out;
  const Timeline& timeline = run_->timeline;
  const TimelineOp& op = timeline.ops[index];
  const RankProgram* program = program_of(*run_, op.rank);
  if (!program)
    return out;
  for (std::uint32_t dep : program->ops[op.op].deps) {
    for (std::uint32_t i = 0; i < timeline.ops.size(); ++i) {
      if (timeline.ops[i].rank == op.rank && timeline.ops[i].op == dep) {
        out.push_back(i);
        break;
      }
    }
  }
  return out;
}

void TimelineView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().base());
  if (!run_) {
    painter.setPen(palette().text().color());
    painter.drawText(rect(), Qt::AlignCenter, "Run a scenario (Ctrl+R) to see its timeline");
    return;
  }
  paint_axis(painter);
  paint_rows(painter);
  paint_memory(painter);
}

void TimelineView::paint_axis(QPainter& painter) {
  const QRect plot = plot_rect();
  painter.setPen(palette().text().color());
  const double span_s = double(t1_ - t0_) * 1e-12;
  const double step_s = nice_step(span_s / std::max(2, plot.width() / 110));
  const double first = std::ceil(double(t0_) * 1e-12 / step_s) * step_s;
  for (double t = first; t <= double(t1_) * 1e-12; t += step_s) {
    const int x = x_at(std::int64_t(std::llround(t * 1e12)));
    painter.setPen(QColor(0, 0, 0, 40));
    painter.drawLine(x, plot.top(), x, plot.bottom());
    painter.setPen(palette().text().color());
    painter.drawText(QRect(x - 50, 2, 100, axis_height - 4), Qt::AlignCenter, seconds_label(t));
  }
  painter.drawText(QRect(4, 2, label_width - 8, axis_height - 4), Qt::AlignLeft | Qt::AlignVCenter,
                   "rank · stream");
}

void TimelineView::paint_rows(QPainter& painter) {
  const QRect plot = plot_rect();
  const int rows = visible_rows();
  painter.save();
  for (int r = 0; r < rows && first_row_ + r < int(drawn_.size()); ++r) {
    const DrawnRow& drawn = drawn_[std::size_t(first_row_ + r)];
    const int y = plot.top() + r * row_height;
    if ((first_row_ + r) % 2)
      painter.fillRect(QRect(0, y, width(), row_height), QColor(0, 0, 0, 10));
    painter.setPen(palette().text().color());
    const QString label = drawn.measured
                              ? QString::fromUtf8("  ↳ measured")
                              : QString("rank %1 · %2")
                                    .arg(drawn.timeline->ranks[std::size_t(drawn.row->rank)])
                                    .arg(QString::fromUtf8(to_string(drawn.row->stream).data()));
    painter.drawText(QRect(4, y, label_width - 8, row_height), Qt::AlignLeft | Qt::AlignVCenter,
                     label);
    const QColor base = stream_color(drawn.row->stream);
    for (const RowSegment& s : row_segments(*drawn.timeline, *drawn.row, t0_, t1_, plot.width())) {
      QColor color = s.ops > 1 ? base.darker(125) : base;
      if (drawn.measured)
        color.setAlpha(150);
      const QRect box(plot.left() + s.x0, y + 2, s.x1 - s.x0, row_height - 4);
      painter.fillRect(box, color);
      if (s.x1 - s.x0 > 40 && s.ops == 1) {
        painter.setPen(Qt::white);
        const TimelineOp& op = drawn.timeline->ops[s.op];
        painter.drawText(box.adjusted(2, 0, -2, 0), Qt::AlignLeft | Qt::AlignVCenter,
                         painter.fontMetrics().elidedText(
                             QString::fromStdString(drawn.timeline->labels[op.label]),
                             Qt::ElideRight, box.width() - 4));
      }
    }
  }
  // The selected op, outlined, and lines from each of its dependencies' ends to its start.
  if (selected_) {
    const auto row_y = [&](std::uint32_t op) -> std::optional<int> {
      const TimelineOp& o = run_->timeline.ops[op];
      for (std::size_t i = 0; i < drawn_.size(); ++i) {
        const DrawnRow& d = drawn_[i];
        if (!d.measured && d.row->rank == o.rank && d.row->stream == o.stream) {
          const int r = int(i) - first_row_;
          if (r < 0 || r >= rows)
            return std::nullopt;
          return plot.top() + r * row_height;
        }
      }
      return std::nullopt;
    };
    painter.setClipRect(plot);
    const TimelineOp& op = run_->timeline.ops[*selected_];
    if (auto y = row_y(*selected_)) {
      painter.setPen(QPen(Qt::black, 2));
      painter.drawRect(QRect(x_at(op.start_ps), *y + 1,
                             std::max(2, x_at(op.end_ps) - x_at(op.start_ps)), row_height - 2));
      painter.setPen(QPen(QColor(200, 30, 30), 1.5));
      for (std::uint32_t dep : dependencies(*selected_)) {
        if (auto dy = row_y(dep)) {
          const TimelineOp& d = run_->timeline.ops[dep];
          painter.drawLine(QPoint(x_at(d.end_ps), *dy + row_height / 2),
                           QPoint(x_at(op.start_ps), *y + row_height / 2));
          painter.drawRect(QRect(x_at(d.start_ps), *dy + 1,
                                 std::max(2, x_at(d.end_ps) - x_at(d.start_ps)), row_height - 2));
        }
      }
    }
  }
  painter.restore();
  painter.setPen(palette().text().color());
  const QString shown = int(drawn_.size()) > rows
                            ? QString("rows %1–%2 of %3 · ")
                                  .arg(first_row_ + 1)
                                  .arg(std::min<int>(first_row_ + rows, int(drawn_.size())))
                                  .arg(drawn_.size())
                            : QString();
  const QString measured = measured_
                               ? QString("predicted step %1, measured %2 · ")
                                     .arg(format_duration(double(run_->timeline.end_ps()) * 1e-12))
                                     .arg(format_duration(double(measured_->end_ps()) * 1e-12))
                               : QString();
  painter.drawText(QRect(4, plot.bottom() + 4, label_width + plot.width(), 16),
                   Qt::AlignLeft | Qt::AlignVCenter,
                   measured + shown +
                       "wheel: scroll rows · Ctrl+wheel or +/−: zoom · drag or ←/→: pan · "
                       "0: whole step · click: select an op and its dependencies");
}

void TimelineView::paint_memory(QPainter& painter) {
  const QRect area = memory_rect();
  const Timeline& timeline = run_->timeline;
  painter.setPen(palette().text().color());
  painter.drawText(QRect(area.left(), area.top() - 18, area.width(), 16),
                   Qt::AlignLeft | Qt::AlignVCenter,
                   "memory per rank (GiB): static memory and activations in flight" +
                       QString(timeline.ranks.size() > 32 ? ", first 32 ranks" : ""));
  painter.drawRect(area);
  if (timeline.ranks.empty())
    return;
  // Each recorded rank's memory: its static memory plus its activations in flight.
  std::vector<double> static_bytes(timeline.ranks.size(), 0);
  for (std::size_t r = 0; r < timeline.ranks.size(); ++r) {
    if (const RankProgram* program = program_of(*run_, int(r)))
      static_bytes[r] = program->static_memory.total();
  }
  const double capacity = run_->prediction.memory.capacity_bytes;
  double top = capacity;
  std::vector<double> current = static_bytes;
  for (const MemorySample& s : timeline.memory)
    top = std::max(top, static_bytes[std::size_t(s.rank)] + s.activation_bytes);
  top = std::max(top, 1.0);
  const auto y_of = [&](double bytes) {
    return area.bottom() - int(bytes / top * (area.height() - 2));
  };
  const double gib = 1024.0 * 1024 * 1024;
  painter.setPen(QColor(0, 0, 0, 40));
  for (double g : {0.25, 0.5, 0.75, 1.0}) {
    const int y = y_of(top * g);
    painter.setPen(QColor(0, 0, 0, 40));
    painter.drawLine(area.left(), y, area.right(), y);
    painter.setPen(palette().text().color());
    painter.drawText(QRect(area.left() - 60, y - 2, 56, 16), Qt::AlignRight | Qt::AlignTop,
                     QString::number(top * g / gib, 'f', 1));
  }
  if (capacity > 0) {
    painter.setPen(QPen(QColor(200, 30, 30), 1, Qt::DashLine));
    painter.drawLine(area.left(), y_of(capacity), area.right(), y_of(capacity));
    painter.drawText(QRect(area.right() - 200, y_of(capacity), 196, 14),
                     Qt::AlignRight | Qt::AlignTop,
                     "device capacity " + QString::fromStdString(format_bytes(capacity)));
  }
  // One step line per rank, at most 32 of them so that the plot stays readable.
  const std::size_t shown = std::min<std::size_t>(timeline.ranks.size(), 32);
  std::vector<QPainterPath> paths(shown);
  std::vector<int> last_x(shown, area.left());
  for (std::size_t r = 0; r < shown; ++r)
    paths[r].moveTo(area.left(), y_of(static_bytes[r]));
  painter.setClipRect(area);
  for (const MemorySample& s : timeline.memory) {
    const std::size_t r = std::size_t(s.rank);
    if (r >= shown)
      continue;
    const int x = std::clamp(x_at(s.time_ps), area.left() - 1, area.right() + 1);
    const double bytes = static_bytes[r] + s.activation_bytes;
    paths[r].lineTo(x, y_of(current[r]));
    paths[r].lineTo(x, y_of(bytes));
    current[r] = bytes;
    last_x[r] = x;
  }
  for (std::size_t r = 0; r < shown; ++r) {
    paths[r].lineTo(area.right(), y_of(current[r]));
    QColor color = QColor::fromHsv(int(r * 360 / std::max<std::size_t>(shown, 1)), 160, 180);
    painter.setPen(QPen(color, 1.2));
    painter.drawPath(paths[r]);
  }
  painter.setClipping(false);
}

void TimelineView::wheelEvent(QWheelEvent* event) {
  const QRect plot = plot_rect();
  const double steps = event->angleDelta().y() / 120.0;
  if (event->modifiers() & Qt::ControlModifier || event->position().y() < plot.top()) {
    const double anchor =
        std::clamp((event->position().x() - plot.left()) / plot.width(), 0.0, 1.0);
    zoom(std::pow(1.25, steps), anchor);
  } else if (event->modifiers() & Qt::ShiftModifier) {
    const std::int64_t shift = std::int64_t(double(t1_ - t0_) * 0.1 * -steps);
    set_window(t0_ + shift, t1_ + shift);
  } else {
    first_row_ = std::clamp(first_row_ - int(steps * 3), 0,
                            std::max(0, int(drawn_.size()) - visible_rows()));
    update();
  }
  event->accept();
}

void TimelineView::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton) {
    drag_from_ = event->position().toPoint();
    drag_t0_ = t0_;
  }
}

void TimelineView::mouseMoveEvent(QMouseEvent* event) {
  if (drag_from_ && (event->buttons() & Qt::LeftButton)) {
    const int dx = event->position().toPoint().x() - drag_from_->x();
    const std::int64_t shift = std::int64_t(double(dx) * double(t1_ - t0_) / plot_rect().width());
    set_window(drag_t0_ - shift, drag_t0_ - shift + (t1_ - t0_));
  }
}

void TimelineView::mouseReleaseEvent(QMouseEvent* event) {
  if (drag_from_ && (event->position().toPoint() - *drag_from_).manhattanLength() < 4)
    select(op_at_point(event->position().toPoint()));
  drag_from_.reset();
}

void TimelineView::keyPressEvent(QKeyEvent* event) {
  const std::int64_t span = t1_ - t0_;
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoom(1.5);
      break;
    case Qt::Key_Minus:
      zoom(1 / 1.5);
      break;
    case Qt::Key_Left:
      set_window(t0_ - span / 10, t1_ - span / 10);
      break;
    case Qt::Key_Right:
      set_window(t0_ + span / 10, t1_ + span / 10);
      break;
    case Qt::Key_Home:
    case Qt::Key_0:
      set_window(0, run_ ? run_->timeline.end_ps() : 1);
      break;
    default:
      QWidget::keyPressEvent(event);
  }
}

bool TimelineView::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    const auto* help = static_cast<QHelpEvent*>(event);
    if (auto op = op_at_point(help->pos()))
      QToolTip::showText(help->globalPos(), describe(*op), this);
    else
      QToolTip::hideText();
    return true;
  }
  return QWidget::event(event);
}

}  // namespace scaleplan::gui
