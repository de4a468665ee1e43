#include "calibrate/executor/comparison.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace scaleplan {

double Pair::error() const {
  return measured_s > 0 ? (predicted_s - measured_s) / measured_s : 0.0;
}

namespace {

double seconds(std::int64_t ps) {
  return static_cast<double>(ps) / 1e12;
}

// A label without its layer and micro-batch numbers ("L3 attention forward mb2" -> "attention
// forward"): ops of one class repeat per layer and micro-batch.
std::string class_label(const std::string& label) {
  std::string out;
  std::size_t i = 0;
  while (i < label.size()) {
    std::size_t j = label.find(' ', i);
    if (j == std::string::npos)
      j = label.size();
    const std::string word = label.substr(i, j - i);
    std::size_t digits = 0;
    while (digits < word.size() &&
           std::isdigit(static_cast<unsigned char>(word[word.size() - 1 - digits])))
      ++digits;
    const bool numbered = digits > 0 && digits + 2 >= word.size();  // "L3", "mb2", "7"
    if (!numbered && !word.empty())
      out += (out.empty() ? "" : " ") + word;
    i = j + 1;
  }
  return out.empty() ? label : out;
}

std::string size_class(double bytes) {
  if (bytes <= 64 * 1024.0)
    return "<= 64 KiB";
  if (bytes <= 1024 * 1024.0)
    return "<= 1 MiB";
  if (bytes <= 16 * 1024 * 1024.0)
    return "<= 16 MiB";
  return "> 16 MiB";
}

std::string class_of(const Timeline& t, const TimelineOp& op) {
  std::string name = std::string(to_string(op.kind)) + ": " + class_label(t.labels[op.label]);
  if (op.kind != OpKind::compute)
    name += ", " + size_class(op.bytes);
  return name;
}

// Total length of the union of intervals.
std::int64_t union_length(std::vector<std::pair<std::int64_t, std::int64_t>> v) {
  std::sort(v.begin(), v.end());
  std::int64_t total = 0, start = 0, end = 0;
  bool open = false;
  for (const auto& [s, e] : v) {
    if (!open || s > end) {
      if (open)
        total += end - start;
      start = s;
      end = e;
      open = true;
    } else {
      end = std::max(end, e);
    }
  }
  return open ? total + end - start : total;
}

struct RankFigures {
  double exposed_s = 0;
  double bubble_s = 0;
  std::array<double, stream_count> busy_s{};
};

RankFigures figures(const Timeline& t, int index) {
  RankFigures f;
  std::vector<std::pair<std::int64_t, std::int64_t>> compute, all;
  for (const TimelineOp& op : t.ops) {
    if (op.rank != index)
      continue;
    f.busy_s[static_cast<int>(op.stream)] += seconds(op.end_ps - op.start_ps);
    (op.kind == OpKind::compute ? compute : all).push_back({op.start_ps, op.end_ps});
  }
  const std::int64_t compute_ps = union_length(compute);
  all.insert(all.end(), compute.begin(), compute.end());
  f.exposed_s = seconds(union_length(all) - compute_ps);
  f.bubble_s = seconds(t.end_ps() - compute_ps);
  return f;
}

}  // namespace

StepComparison compare_timelines(const Timeline& predicted, const Timeline& measured) {
  StepComparison c;
  c.step = {seconds(predicted.end_ps()), seconds(measured.end_ps())};
  std::map<int, int> p_index, m_index;  // rank number to index
  for (std::size_t i = 0; i < predicted.ranks.size(); ++i)
    p_index[predicted.ranks[i]] = static_cast<int>(i);
  for (std::size_t i = 0; i < measured.ranks.size(); ++i)
    m_index[measured.ranks[i]] = static_cast<int>(i);
  for (const auto& [rank, i] : p_index) {
    if (m_index.count(rank))
      c.ranks.push_back(rank);
  }
  // (rank, op) to the op, per side.
  std::map<std::pair<int, std::uint32_t>, const TimelineOp*> p_ops, m_ops;
  for (const TimelineOp& op : predicted.ops)
    p_ops[{predicted.ranks[static_cast<std::size_t>(op.rank)], op.op}] = &op;
  for (const TimelineOp& op : measured.ops)
    m_ops[{measured.ranks[static_cast<std::size_t>(op.rank)], op.op}] = &op;
  const std::set<int> common(c.ranks.begin(), c.ranks.end());
  std::map<std::string, ClassComparison> classes;
  for (const auto& [key, p] : p_ops) {
    if (!common.count(key.first))
      continue;
    const auto m = m_ops.find(key);
    if (m == m_ops.end()) {
      ++c.unmatched_ops;
      continue;
    }
    ++c.matched_ops;
    ClassComparison& cls = classes[class_of(predicted, *p)];
    ++cls.ops;
    cls.time.predicted_s += seconds(p->end_ps - p->start_ps);
    cls.time.measured_s += seconds(m->second->end_ps - m->second->start_ps);
  }
  for (const auto& [key, m] : m_ops) {
    if (common.count(key.first) && !p_ops.count(key))
      ++c.unmatched_ops;
  }
  for (auto& [name, cls] : classes) {
    cls.name = name;
    c.classes.push_back(cls);
  }
  std::array<Pair, stream_count> busy{};
  const double n = c.ranks.empty() ? 1.0 : static_cast<double>(c.ranks.size());
  for (const int rank : c.ranks) {
    const RankFigures p = figures(predicted, p_index[rank]), m = figures(measured, m_index[rank]);
    c.exposed_communication.predicted_s += p.exposed_s / n;
    c.exposed_communication.measured_s += m.exposed_s / n;
    c.bubble.predicted_s += p.bubble_s / n;
    c.bubble.measured_s += m.bubble_s / n;
    for (int s = 0; s < stream_count; ++s) {
      busy[s].predicted_s += p.busy_s[s] / n;
      busy[s].measured_s += m.busy_s[s] / n;
      const auto order = [](const Timeline& t, int index, Stream stream) {
        std::vector<const TimelineOp*> ops;
        for (const std::uint32_t i : t.ops_on(index, stream))
          ops.push_back(&t.ops[i]);
        std::stable_sort(ops.begin(), ops.end(), [](const TimelineOp* a, const TimelineOp* b) {
          return a->start_ps < b->start_ps;
        });
        std::vector<std::uint32_t> indices;
        for (const TimelineOp* op : ops)
          indices.push_back(op->op);
        return indices;
      };
      const auto stream = static_cast<Stream>(s);
      if (order(predicted, p_index[rank], stream) != order(measured, m_index[rank], stream))
        c.order_differences.push_back(fmt::format("rank {} {}", rank, to_string(stream)));
    }
  }
  for (int s = 0; s < stream_count; ++s) {
    if (busy[s].predicted_s > 0 || busy[s].measured_s > 0)
      c.streams.push_back({std::string(to_string(static_cast<Stream>(s))), busy[s]});
  }
  return c;
}

namespace {

std::string row(const std::string& name, const Pair& p) {
  return fmt::format("  {:<58} {:>12.6f} {:>12.6f} {:>+8.1f} %\n", name, p.predicted_s,
                     p.measured_s, 100 * p.error());
}

nlohmann::ordered_json pair_json(const Pair& p) {
  return {{"predicted_s", p.predicted_s}, {"measured_s", p.measured_s}, {"error", p.error()}};
}

}  // namespace

std::string format_text(const StepComparison& c) {
  std::string out =
      fmt::format("step time: predicted {:.6f} s, measured {:.6f} s, error {:+.1f} %\n",
                  c.step.predicted_s, c.step.measured_s, 100 * c.step.error());
  out += fmt::format("ranks compared: {} ({} ops matched, {} unmatched); op order {}\n",
                     c.ranks.size(), c.matched_ops, c.unmatched_ops,
                     c.order_differences.empty()
                         ? std::string("the same on every stream")
                         : fmt::format("differs on {} streams", c.order_differences.size()));
  out += fmt::format("  {:<58} {:>12} {:>12} {:>10}\n", "", "predicted s", "measured s", "error");
  out += row("step", c.step);
  out += row("exposed communication (per rank)", c.exposed_communication);
  out += row("bubble: step less compute (per rank)", c.bubble);
  out += "per op class (summed over the ranks compared):\n";
  for (const ClassComparison& cls : c.classes)
    out += row(fmt::format("{} (x{})", cls.name, cls.ops), cls.time);
  out += "per stream (busy time per rank):\n";
  for (const StreamComparison& s : c.streams)
    out += row(s.stream, s.busy);
  return out;
}

std::string format_json(const StepComparison& c) {
  nlohmann::ordered_json j;
  j["ranks"] = c.ranks;
  j["step"] = pair_json(c.step);
  j["exposed_communication"] = pair_json(c.exposed_communication);
  j["bubble"] = pair_json(c.bubble);
  j["matched_ops"] = c.matched_ops;
  j["unmatched_ops"] = c.unmatched_ops;
  j["order_differences"] = c.order_differences;
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (const ClassComparison& cls : c.classes) {
    nlohmann::ordered_json e = pair_json(cls.time);
    e["class"] = cls.name;
    e["ops"] = cls.ops;
    classes.push_back(e);
  }
  j["classes"] = classes;
  nlohmann::ordered_json streams = nlohmann::ordered_json::array();
  for (const StreamComparison& s : c.streams) {
    nlohmann::ordered_json e = pair_json(s.busy);
    e["stream"] = s.stream;
    streams.push_back(e);
  }
  j["streams"] = streams;
  return j.dump(2) + "\n";
}

}  // namespace scaleplan
