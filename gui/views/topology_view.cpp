#include "gui/views/topology_view.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <QPainter>

namespace scaleplan::gui {
namespace {

// Pale yellow (barely used) through orange to dark red (the busiest), `t` from 0 to 1.
QColor utilisation_color(double t) {
  t = std::clamp(t, 0.0, 1.0);
  return QColor::fromHsvF(float((55 - 55 * t) / 360.0), float(0.35 + 0.65 * t),
                          float(0.95 - 0.35 * t));
}

const char* kind_name(VertexKind kind) {
  switch (kind) {
    case VertexKind::device:
      return "device";
    case VertexKind::nic:
      return "NIC";
    case VertexKind::node_switch:
      return "node switch";
    case VertexKind::network_switch:
      return "switch";
    case VertexKind::host_bridge:
      return "host bridge";
  }
  return "";
}

}  // namespace

TopologyView::TopologyView(QWidget* parent) : QWidget(parent) {
  setMinimumSize(400, 250);
  setAccessibleName("topology");
}

void TopologyView::set_run(std::shared_ptr<const RunResult> run) {
  run_ = std::move(run);
  update();
}

void TopologyView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.fillRect(rect(), palette().base());
  painter.setPen(palette().text().color());
  if (!run_) {
    painter.drawText(rect(), Qt::AlignCenter, "Run a scenario (Ctrl+R) to see its network");
    return;
  }
  const Topology& topology = run_->topology;
  const int nodes = std::min(topology.node_count(), max_nodes);
  const int legend_height = 40;
  const QRectF area = QRectF(rect()).adjusted(20, 30, -20, -legend_height - 10);

  // Vertices by level: network switches by tier (top, highest tier first), then per node its
  // node switches and host bridges, NICs and devices.
  std::map<int, std::vector<VertexId>> switches_by_tier;
  std::vector<std::map<int, std::vector<VertexId>>> node_rows(static_cast<std::size_t>(nodes));
  for (VertexId v = 0; v < topology.vertex_count(); ++v) {
    const Vertex& vertex = topology.vertex(v);
    if (vertex.kind == VertexKind::network_switch) {
      switches_by_tier[vertex.tier].push_back(v);
    } else if (vertex.node >= 0 && vertex.node < nodes) {
      const int row = vertex.kind == VertexKind::device ? 2
                      : vertex.kind == VertexKind::nic  ? 0
                                                        : 1;
      node_rows[std::size_t(vertex.node)][row].push_back(v);
    }
  }
  const int tiers = int(switches_by_tier.size());
  const int levels = tiers + 3;
  const double level_height = area.height() / std::max(levels, 1);
  std::unordered_map<VertexId, QPointF> position;
  std::vector<std::pair<QPointF, QString>> notes;
  int level = 0;
  for (auto it = switches_by_tier.rbegin(); it != switches_by_tier.rend(); ++it, ++level) {
    const std::vector<VertexId>& all = it->second;
    const std::size_t shown = std::min<std::size_t>(all.size(), 32);
    const double y = area.top() + (level + 0.5) * level_height;
    for (std::size_t i = 0; i < shown; ++i)
      position[all[i]] = {area.left() + (double(i) + 0.5) * area.width() / double(shown), y};
    notes.push_back({{area.left(), y - 14},
                     QString("tier %1: %2 switch%3%4")
                         .arg(it->first)
                         .arg(all.size())
                         .arg(all.size() == 1 ? "" : "es")
                         .arg(shown < all.size() ? QString(", %1 shown").arg(shown) : "")});
  }
  const double node_width = area.width() / std::max(nodes, 1);
  for (int n = 0; n < nodes; ++n) {
    const double left = area.left() + n * node_width;
    painter.setPen(QPen(QColor(0, 0, 0, 60), 1, Qt::DashLine));
    painter.drawRoundedRect(QRectF(left + 4, area.top() + (tiers + 0.1) * level_height,
                                   node_width - 8, 2.8 * level_height),
                            6, 6);
    painter.setPen(palette().text().color());
    painter.drawText(QPointF(left + 10, area.top() + (tiers + 0.1) * level_height + 14),
                     QString("node %1").arg(n));
    for (const auto& [row, vertices] : node_rows[std::size_t(n)]) {
      const double y = area.top() + (tiers + row + 0.6) * level_height;
      for (std::size_t i = 0; i < vertices.size(); ++i)
        position[vertices[i]] = {left + (double(i) + 0.5) * node_width / double(vertices.size()),
                                 y};
    }
  }

  // Links, once per pair of vertices, at the busier direction's utilisation.
  struct Drawn {
    QPointF a, b;
    std::optional<double> u;
  };
  std::map<std::pair<VertexId, VertexId>, Drawn> pairs;
  double busiest = 0;
  for (LinkId id = 0; id < topology.link_count(); ++id) {
    const Link& link = topology.link(id);
    auto a = position.find(link.from), b = position.find(link.to);
    if (a == position.end() || b == position.end())
      continue;
    auto key = std::minmax(link.from, link.to);
    Drawn& drawn =
        pairs.try_emplace({key.first, key.second}, Drawn{a->second, b->second, {}}).first->second;
    if (const double u = run_->link_utilization(id); u > 0)
      drawn.u = std::max(drawn.u.value_or(0), u);
  }
  for (LinkId id = 0; id < topology.link_count(); ++id)
    busiest = std::max(busiest, run_->link_utilization(id));
  const double scale = busiest > 0 ? busiest : 1;
  for (const auto& [key, drawn] : pairs) {
    painter.setPen(drawn.u ? QPen(utilisation_color(*drawn.u / scale), 1 + 2 * *drawn.u / scale)
                           : QPen(QColor(0, 0, 0, 40), 1));
    painter.drawLine(drawn.a, drawn.b);
  }
  for (const auto& [v, p] : position) {
    const Vertex& vertex = topology.vertex(v);
    QColor fill = vertex.kind == VertexKind::device           ? QColor(0x3b, 0x75, 0xaf)
                  : vertex.kind == VertexKind::nic            ? QColor(0x51, 0x9e, 0x3e)
                  : vertex.kind == VertexKind::network_switch ? QColor(0x55, 0x55, 0x55)
                                                              : QColor(0x8d, 0x69, 0xb8);
    painter.setPen(fill.darker(140));
    painter.setBrush(fill);
    const double r = vertex.kind == VertexKind::device ? 6 : 5;
    if (vertex.kind == VertexKind::device)
      painter.drawEllipse(p, r, r);
    else
      painter.drawRect(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r));
  }
  painter.setBrush(Qt::NoBrush);
  painter.setPen(palette().text().color());
  for (const auto& [p, text] : notes)
    painter.drawText(p, text);
  QString title = QString("%1: %2 devices in %3 nodes, %4 links")
                      .arg(QString::fromStdString(run_->prediction.scenario))
                      .arg(topology.device_count())
                      .arg(topology.node_count())
                      .arg(topology.link_count());
  if (topology.node_count() > nodes)
    title += QString(" (first %1 nodes shown)").arg(nodes);
  painter.drawText(QRectF(10, 4, width() - 20, 20), Qt::AlignLeft | Qt::AlignVCenter, title);

  // Legend: vertex kinds and the utilisation scale.
  const double y = height() - legend_height + 8;
  double x = 20;
  for (VertexKind kind :
       {VertexKind::device, VertexKind::nic, VertexKind::node_switch, VertexKind::network_switch}) {
    QColor fill = kind == VertexKind::device           ? QColor(0x3b, 0x75, 0xaf)
                  : kind == VertexKind::nic            ? QColor(0x51, 0x9e, 0x3e)
                  : kind == VertexKind::network_switch ? QColor(0x55, 0x55, 0x55)
                                                       : QColor(0x8d, 0x69, 0xb8);
    painter.setBrush(fill);
    painter.drawRect(QRectF(x, y, 10, 10));
    painter.setBrush(Qt::NoBrush);
    painter.drawText(QPointF(x + 14, y + 10), kind_name(kind));
    x += 100;
  }
  x += 20;
  painter.drawText(QPointF(x, y + 10), "link busy, share of the step:");
  x += 185;
  for (int i = 0; i <= 4; ++i) {
    painter.setPen(QPen(utilisation_color(i / 4.0), 1 + 2 * i / 4.0));
    painter.drawLine(QPointF(x, y + 5), QPointF(x + 24, y + 5));
    painter.setPen(palette().text().color());
    painter.drawText(QPointF(x + 28, y + 10),
                     QString("%1 %").arg(busiest * 100 * i / 4.0, 0, 'f', busiest < 0.2 ? 1 : 0));
    x += 72;
  }
  painter.setPen(QPen(QColor(0, 0, 0, 40), 1));
  painter.drawLine(QPointF(x, y + 5), QPointF(x + 24, y + 5));
  painter.setPen(palette().text().color());
  painter.drawText(QPointF(x + 28, y + 10), "idle");
}

}  // namespace scaleplan::gui
