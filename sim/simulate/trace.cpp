#include "sim/simulate/trace.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace scaleplan {

ChromeTraceRecorder::ChromeTraceRecorder(const Plan& plan, std::vector<std::string> rank_names)
    : plan_(&plan), rank_names_(std::move(rank_names)) {}

void ChromeTraceRecorder::on_op(int rank, std::uint32_t op, SimTime start, SimTime end) {
  slices_.push_back({rank, op, start, end});
}

void ChromeTraceRecorder::on_memory(int rank, SimTime time, double bytes) {
  samples_.push_back({rank, time, bytes});
}

void ChromeTraceRecorder::on_link_rate(LinkId link, SimTime time, double bytes_per_s) {
  if (link >= link_rates_.size())
    link_rates_.resize(link + 1);
  std::vector<Rate>& rates = link_rates_[link];
  // Several reshares at one instant leave only the last rate standing.
  if (!rates.empty() && rates.back().time == time)
    rates.pop_back();
  if (rates.empty() || rates.back().bytes_per_s != bytes_per_s)
    rates.push_back({time, bytes_per_s});
}

namespace {
// Microseconds with picosecond resolution, printed the same way on every run.
std::string microseconds(SimTime t) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%lld.%06lld", static_cast<long long>(t / 1'000'000),
                static_cast<long long>(t % 1'000'000));
  return buffer;
}
}  // namespace

// The mean rate over each of `intervals` equal parts of [0, end): the bytes the piecewise-constant
// rate moved in the part over its length, at the part's start; then the rate from `end` on.
std::vector<ChromeTraceRecorder::Rate> ChromeTraceRecorder::mean_rates(
    const std::vector<Rate>& rates, SimTime end, std::size_t intervals) {
  const auto parts = static_cast<SimTime>(intervals);
  // i·end / parts without forming i·end, which overflows for steps of hours.
  auto boundary = [&](SimTime i) { return end / parts * i + end % parts * i / parts; };
  std::vector<Rate> means;
  std::size_t next = 0;  // the first change not yet applied
  double rate = 0;
  for (SimTime i = 0; i < parts; ++i) {
    const SimTime from = boundary(i), to = boundary(i + 1);
    if (to == from)
      continue;
    double bytes = 0;
    SimTime cursor = from;
    while (next < rates.size() && rates[next].time < to) {
      bytes += rate * to_seconds(rates[next].time - cursor);
      cursor = std::max(cursor, rates[next].time);
      rate = rates[next].bytes_per_s;
      ++next;
    }
    bytes += rate * to_seconds(to - cursor);
    means.push_back({from, bytes / to_seconds(to - from)});
  }
  means.push_back({end, rates.empty() ? 0.0 : rates.back().bytes_per_s});
  return means;
}

void ChromeTraceRecorder::write(std::ostream& out) const {
  out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto line = [&](const std::string& text) {
    if (!first)
      out << ",\n";
    first = false;
    out << text;
  };
  for (std::size_t r = 0; r < plan_->ranks.size(); ++r) {
    const std::string name = r < rank_names_.size() ? rank_names_[r] : "rank " + std::to_string(r);
    line(nlohmann::json{
        {"name", "process_name"}, {"ph", "M"}, {"pid", r}, {"args", {{"name", name}}}}
             .dump());
    line(nlohmann::json{
        {"name", "process_sort_index"}, {"ph", "M"}, {"pid", r}, {"args", {{"sort_index", r}}}}
             .dump());
    for (int s = 0; s < stream_count; ++s) {
      line(nlohmann::json{{"name", "thread_name"},
                          {"ph", "M"},
                          {"pid", r},
                          {"tid", s},
                          {"args", {{"name", std::string(to_string(static_cast<Stream>(s)))}}}}
               .dump());
    }
  }
  for (const Slice& s : slices_) {
    const Op& op = plan_->ranks[s.rank].ops[s.op];
    std::string text =
        "{\"name\":" + nlohmann::json(plan_->labels[op.label]).dump() + ",\"cat\":\"" +
        std::string(to_string(op.kind)) + "\",\"ph\":\"X\",\"pid\":" + std::to_string(s.rank) +
        ",\"tid\":" + std::to_string(static_cast<int>(op.stream)) +
        ",\"ts\":" + microseconds(s.start) + ",\"dur\":" + microseconds(s.end - s.start) +
        ",\"args\":{\"op\":" + std::to_string(s.op);
    if (op.microbatch >= 0)
      text += ",\"microbatch\":" + std::to_string(op.microbatch);
    if (op.kind != OpKind::compute)
      text += ",\"bytes\":" + nlohmann::json(op.bytes).dump();
    text += "}}";
    line(text);
  }
  SimTime step_end = 0;
  for (const Slice& s : slices_)
    step_end = std::max(step_end, s.end);
  const std::size_t network_pid = plan_->ranks.size();
  if (!traced_links_.empty()) {
    line(nlohmann::json{{"name", "process_name"},
                        {"ph", "M"},
                        {"pid", network_pid},
                        {"args", {{"name", "network: busiest links (GB/s)"}}}}
             .dump());
    line(nlohmann::json{{"name", "process_sort_index"},
                        {"ph", "M"},
                        {"pid", network_pid},
                        {"args", {{"sort_index", network_pid}}}}
             .dump());
  }
  for (const TracedLink& traced : traced_links_) {
    const std::string head = "{\"name\":" + nlohmann::json(traced.name).dump() +
                             ",\"ph\":\"C\",\"pid\":" + std::to_string(network_pid) + ",\"ts\":";
    auto counter = [&](SimTime time, double bytes_per_s) {
      line(head + microseconds(time) +
           ",\"args\":{\"GB/s\":" + nlohmann::json(bytes_per_s / 1e9).dump() + "}}");
    };
    static const std::vector<Rate> none;
    const std::vector<Rate>& rates =
        traced.link < link_rates_.size() ? link_rates_[traced.link] : none;
    if (rates.size() <= max_link_points) {
      for (const Rate& r : rates)
        counter(r.time, r.bytes_per_s);
    } else {
      const SimTime end = std::max(step_end, rates.back().time);
      for (const Rate& r : mean_rates(rates, end, max_link_points))
        counter(r.time, r.bytes_per_s);
    }
  }
  for (const Sample& m : samples_) {
    line("{\"name\":\"activation memory (GiB)\",\"ph\":\"C\",\"pid\":" + std::to_string(m.rank) +
         ",\"ts\":" + microseconds(m.time) +
         ",\"args\":{\"GiB\":" + nlohmann::json(m.bytes / (1024.0 * 1024 * 1024)).dump() + "}}");
  }
  out << "\n]}\n";
}

}  // namespace scaleplan
