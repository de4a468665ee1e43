#include "sim/timeline/chrome_trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

namespace {

// Microseconds with picosecond resolution, printed the same way on every run.
std::string microseconds(std::int64_t ps) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%lld.%06lld", static_cast<long long>(ps / 1'000'000),
                static_cast<long long>(ps % 1'000'000));
  return buffer;
}

double to_seconds(std::int64_t ps) {
  return static_cast<double>(ps) / 1e12;
}

// The mean rate over each of `intervals` equal parts of [0, end): the bytes the piecewise-constant
// rate moved in the part over its length, at the part's start; then the rate from `end` on.
std::vector<LinkRateSample> mean_rates(const std::vector<LinkRateSample>& rates, std::int64_t end,
                                       std::size_t intervals) {
  const auto parts = static_cast<std::int64_t>(intervals);
  // i·end / parts without forming i·end, which overflows for steps of hours.
  auto boundary = [&](std::int64_t i) { return end / parts * i + end % parts * i / parts; };
  std::vector<LinkRateSample> means;
  std::size_t next = 0;  // the first change not yet applied
  double rate = 0;
  for (std::int64_t i = 0; i < parts; ++i) {
    const std::int64_t from = boundary(i), to = boundary(i + 1);
    if (to == from)
      continue;
    double bytes = 0;
    std::int64_t cursor = from;
    while (next < rates.size() && rates[next].time_ps < to) {
      bytes += rate * to_seconds(rates[next].time_ps - cursor);
      cursor = std::max(cursor, rates[next].time_ps);
      rate = rates[next].bytes_per_s;
      ++next;
    }
    bytes += rate * to_seconds(to - cursor);
    means.push_back({from, bytes / to_seconds(to - from)});
  }
  means.push_back({end, rates.empty() ? 0.0 : rates.back().bytes_per_s});
  return means;
}

// One line per event, separated by ",\n".
class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) {}
  void operator()(const std::string& text) {
    if (!first_)
      out_ << ",\n";
    first_ = false;
    out_ << text;
  }

 private:
  std::ostream& out_;
  bool first_ = true;
};

void write_processes(EventWriter& line, const Timeline& timeline,
                     const std::vector<std::string>& rank_names) {
  for (std::size_t r = 0; r < timeline.ranks.size(); ++r) {
    const std::string name = r < rank_names.size() ? rank_names[r] : "rank " + std::to_string(r);
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
}

void write_slices(EventWriter& line, const Timeline& timeline) {
  for (const TimelineOp& op : timeline.ops) {
    std::string text = "{\"name\":" + nlohmann::json(timeline.labels[op.label]).dump() +
                       ",\"cat\":\"" + std::string(to_string(op.kind)) +
                       "\",\"ph\":\"X\",\"pid\":" + std::to_string(op.rank) +
                       ",\"tid\":" + std::to_string(static_cast<int>(op.stream)) +
                       ",\"ts\":" + microseconds(op.start_ps) +
                       ",\"dur\":" + microseconds(op.end_ps - op.start_ps) +
                       ",\"args\":{\"op\":" + std::to_string(op.op);
    if (op.microbatch >= 0)
      text += ",\"microbatch\":" + std::to_string(op.microbatch);
    if (op.kind != OpKind::compute)
      text += ",\"bytes\":" + nlohmann::json(op.bytes).dump();
    text += "}}";
    line(text);
  }
}

void write_links(EventWriter& line, const Timeline& timeline,
                 const std::vector<TracedLink>& links) {
  const std::size_t network_pid = timeline.ranks.size();
  if (!links.empty()) {
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
  const std::int64_t step_end = timeline.end_ps();
  for (const TracedLink& traced : links) {
    const std::string head = "{\"name\":" + nlohmann::json(traced.name).dump() +
                             ",\"ph\":\"C\",\"pid\":" + std::to_string(network_pid) + ",\"ts\":";
    auto counter = [&](std::int64_t time_ps, double bytes_per_s) {
      line(head + microseconds(time_ps) +
           ",\"args\":{\"GB/s\":" + nlohmann::json(bytes_per_s / 1e9).dump() + "}}");
    };
    static const std::vector<LinkRateSample> none;
    const std::vector<LinkRateSample>& rates =
        traced.link < timeline.link_rates.size() ? timeline.link_rates[traced.link] : none;
    if (rates.size() <= chrome_trace_max_link_points) {
      for (const LinkRateSample& r : rates)
        counter(r.time_ps, r.bytes_per_s);
    } else {
      const std::int64_t end = std::max(step_end, rates.back().time_ps);
      for (const LinkRateSample& r : mean_rates(rates, end, chrome_trace_max_link_points))
        counter(r.time_ps, r.bytes_per_s);
    }
  }
}

}  // namespace

void write_chrome_trace(std::ostream& out, const Timeline& timeline,
                        const ChromeTraceOptions& options) {
  nlohmann::ordered_json other_data = nlohmann::ordered_json::object();
  for (const auto& [key, value] : options.other_data)
    other_data[key] = value;
  out << "{\"displayTimeUnit\":\"ns\",\"otherData\":" << other_data.dump()
      << ",\"traceEvents\":[\n";
  EventWriter line(out);
  write_processes(line, timeline, options.rank_names);
  write_slices(line, timeline);
  write_links(line, timeline, options.links);
  for (const MemorySample& m : timeline.memory) {
    line("{\"name\":\"activation memory (GiB)\",\"ph\":\"C\",\"pid\":" + std::to_string(m.rank) +
         ",\"ts\":" + microseconds(m.time_ps) + ",\"args\":{\"GiB\":" +
         nlohmann::json(m.activation_bytes / (1024.0 * 1024 * 1024)).dump() + "}}");
  }
  out << "\n]}\n";
}

namespace {

[[noreturn]] void trace_error(const std::string& name, const std::string& message) {
  throw InputError({Diagnostic{{name, 0, 0}, "traceEvents", message}});
}

// Microseconds to picoseconds; nullopt for what is not a time of a step (negative, not finite, or
// beyond what picoseconds in 64 bits hold).
std::optional<std::int64_t> to_ps(const nlohmann::json& microseconds) {
  const double us = microseconds.get<double>();
  if (!(us >= 0 && us < 9e12))
    return std::nullopt;
  return std::llround(us * 1e6);
}

}  // namespace

Timeline read_chrome_trace(std::istream& in, const std::string& name) {
  nlohmann::json trace;
  try {
    trace = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    trace_error(name, std::string("not JSON: ") + e.what());
  }
  if (!trace.is_object() || !trace.contains("traceEvents") || !trace["traceEvents"].is_array())
    trace_error(name, "not a Chrome trace of scaleplan (no traceEvents array)");
  Timeline t;
  std::map<int, int> rank_of_pid;  // pid to rank number
  for (const auto& e : trace["traceEvents"]) {
    try {
      if (e.is_object() && e.value("ph", "") == "M" && e.value("name", "") == "process_name") {
        const std::string process = e.at("args").value("name", "");
        if (process.rfind("rank ", 0) == 0)
          rank_of_pid[e.at("pid").get<int>()] = std::atoi(process.c_str() + 5);
      }
    } catch (const nlohmann::json::exception& error) {
      trace_error(name, std::string("a process name without its fields: ") + error.what());
    }
  }
  std::map<int, int> index_of_pid;  // pid to index into t.ranks
  for (const auto& [pid, rank] : rank_of_pid) {
    index_of_pid[pid] = static_cast<int>(t.ranks.size());
    t.ranks.push_back(rank);
  }
  std::unordered_map<std::string, std::uint32_t> labels;
  for (const auto& e : trace["traceEvents"]) {
    try {
      if (!e.is_object() || e.value("ph", "") != "X")
        continue;
      const auto pid = index_of_pid.find(e.at("pid").get<int>());
      if (pid == index_of_pid.end())
        trace_error(name, "a slice of a process that is not a rank");
      TimelineOp op;
      op.rank = pid->second;
      const int stream = e.at("tid").get<int>();
      if (stream < 0 || stream >= stream_count)
        trace_error(name, "a slice on thread " + std::to_string(stream) + ", not a stream");
      op.stream = static_cast<Stream>(stream);
      const auto kind = op_kind_names.parse(e.value("cat", ""));
      if (!kind)
        trace_error(name, "a slice of category '" + printable_text(e.value("cat", "")) +
                              "', not an op kind");
      op.kind = *kind;
      const std::string label = e.at("name").get<std::string>();
      const auto [it, added] = labels.emplace(label, static_cast<std::uint32_t>(t.labels.size()));
      if (added)
        t.labels.push_back(label);
      op.label = it->second;
      const auto& args = e.at("args");
      op.op = args.at("op").get<std::uint32_t>();
      op.microbatch = args.value("microbatch", -1);
      op.bytes = args.value("bytes", 0.0);
      const auto start = to_ps(e.at("ts")), duration = to_ps(e.at("dur"));
      if (!start || !duration)
        trace_error(name, "a slice whose ts or dur is not a time from 0 to 9e12 us");
      op.start_ps = *start;
      op.end_ps = *start + *duration;
      t.ops.push_back(op);
    } catch (const nlohmann::json::exception& error) {
      trace_error(name, std::string("a slice without its fields: ") + error.what());
    }
  }
  std::stable_sort(t.ops.begin(), t.ops.end(),
                   [](const TimelineOp& a, const TimelineOp& b) { return a.end_ps < b.end_ps; });
  return t;
}

}  // namespace scaleplan
