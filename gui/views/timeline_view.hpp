// The timeline of a step: one row per rank and stream (compute; tensor, pipeline, data, context
// and expert parallel communication), the ranks' memory over time under it. Zoom with the wheel
// (Ctrl+wheel or +/-), pan by dragging or with the arrow keys, scroll rows with the wheel; hover
// shows an op's name, shapes and duration; a click selects an op and draws its dependencies.
// Rows are laid out by timeline_rows and drawn at a level of detail (row_segments), so that
// painting costs pixels, not ops. A second, measured timeline may be shown beside the predicted
// one, its rows interleaved with the predicted ones.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <QWidget>

#include "gui/models/simulation_job.hpp"
#include "gui/models/timeline_rows.hpp"

namespace scaleplan::gui {

class TimelineView final : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineView(QWidget* parent = nullptr);

  void set_run(std::shared_ptr<const RunResult> run);
  // A measured step in the same format (a Timeline the executor recorded, or any other), drawn
  // below each predicted row of the same rank and stream; null removes it.
  void set_measured(std::shared_ptr<const Timeline> measured);

  // The time shown, in picoseconds from the start of the step.
  std::int64_t window_start_ps() const { return t0_; }
  std::int64_t window_end_ps() const { return t1_; }
  void set_window(std::int64_t t0_ps, std::int64_t t1_ps);
  void zoom(double factor, double anchor_fraction = 0.5);  // factor > 1 zooms in

  int row_count() const { return int(rows_.size()); }
  // Rows drawn: the predicted ones and, under each, the measured row of its rank and stream.
  int drawn_row_count() const { return int(drawn_.size()); }
  const std::vector<TimelineRow>& rows() const { return rows_; }
  // Index into the run's Timeline::ops of the op at widget point `point`, if any.
  std::optional<std::uint32_t> op_at_point(QPoint point) const;
  std::optional<std::uint32_t> selected() const { return selected_; }
  void select(std::optional<std::uint32_t> op);
  // What hovering shows: label, kind, stream, micro-batch, shapes, bytes, duration.
  QString describe(std::uint32_t op) const;
  // The selected op's dependencies, as indices into Timeline::ops (those recorded).
  std::vector<std::uint32_t> dependencies(std::uint32_t op) const;

  QSize sizeHint() const override { return {900, 500}; }

 signals:
  void op_selected(const QString& description);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  bool event(QEvent* event) override;

 private:
  struct DrawnRow {
    const Timeline* timeline;
    const TimelineRow* row;
    bool measured;
  };
  QRect plot_rect() const;    // the rows' area, right of the labels
  QRect memory_rect() const;  // the memory plot under the rows
  int visible_rows() const;
  std::int64_t time_at(int x) const;
  int x_at(std::int64_t t) const;
  void paint_rows(QPainter& painter);
  void paint_axis(QPainter& painter);
  void paint_memory(QPainter& painter);
  void rebuild_drawn_rows();

  std::shared_ptr<const RunResult> run_;
  std::shared_ptr<const Timeline> measured_;
  std::vector<TimelineRow> rows_;
  std::vector<TimelineRow> measured_rows_;
  std::vector<DrawnRow> drawn_;
  std::int64_t t0_ = 0;
  std::int64_t t1_ = 1;
  int first_row_ = 0;
  std::optional<std::uint32_t> selected_;
  std::optional<QPoint> drag_from_;
  std::int64_t drag_t0_ = 0;
};

}  // namespace scaleplan::gui
