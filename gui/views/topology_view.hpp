// The cluster's network as a graph: switches in tiers at the top, each node's NICs and devices
// below them, links coloured by the share of the step they were busy (their bytes over bandwidth
// times step time, as `scaleplan run --links` ranks them; grey where idle). A cluster of many
// nodes shows its first nodes and says how many more there are.
#pragma once

#include <memory>

#include <QWidget>

#include "gui/models/simulation_job.hpp"

namespace scaleplan::gui {

class TopologyView final : public QWidget {
  Q_OBJECT

 public:
  explicit TopologyView(QWidget* parent = nullptr);
  void set_run(std::shared_ptr<const RunResult> run);
  // Nodes drawn at most.
  static constexpr int max_nodes = 8;
  QSize sizeHint() const override { return {900, 500}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  std::shared_ptr<const RunResult> run_;
};

}  // namespace scaleplan::gui
