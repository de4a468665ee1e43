#include "sim/timeline/chrome_trace.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
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

// One line per event, separated by ",\n", gathered in a buffer that goes to the stream in large
// pieces: a trace of a thousand ranks holds millions of events, and a string (and a stream
// insertion) per field cost more than the simulation did.
class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) { text_.reserve(flush_bytes + 4096); }
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;
  ~EventWriter() { flush(); }

  // Starts the next event; its text is then appended to text().
  std::string& next() {
    if (text_.size() >= flush_bytes)
      flush();
    if (!first_)
      text_ += ",\n";
    first_ = false;
    return text_;
  }
  void operator()(const std::string& text) { next() += text; }
  void flush() {
    out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
    text_.clear();
  }

 private:
  static constexpr std::size_t flush_bytes = std::size_t{1} << 20;
  std::ostream& out_;
  std::string text_;
  bool first_ = true;
};

void append_integer(std::string& text, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  text.append(digits, end);
}

// As microseconds() does, without a string per number.
void append_microseconds(std::string& text, std::int64_t ps) {
  if (ps < 0) {
    text += microseconds(ps);
    return;
  }
  append_integer(text, ps / 1'000'000);
  char fraction[6];
  std::int64_t rest = ps % 1'000'000;
  for (int i = 5; i >= 0; --i, rest /= 10)
    fraction[i] = static_cast<char>('0' + rest % 10);
  text += '.';
  text.append(fraction, sizeof fraction);
}

// Numbers as nlohmann::json writes them (the trace's format), each distinct value formatted once:
// a step moves a few message sizes and memory levels millions of times.
class NumberText {
 public:
  const std::string& operator()(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    auto [it, inserted] = known_.try_emplace(bits);
    if (inserted)
      it->second = nlohmann::json(value).dump();
    return it->second;
  }

 private:
  std::unordered_map<std::uint64_t, std::string> known_;
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

void write_slices(EventWriter& line, const Timeline& timeline, NumberText& number) {
  // Each label's "{"name":<label>,"cat":"<kind>"" head, made once per label and kind.
  std::vector<std::string> label_json;
  label_json.reserve(timeline.labels.size());
  for (const std::string& label : timeline.labels)
    label_json.push_back("{\"name\":" + nlohmann::json(label).dump() + ",\"cat\":\"");
  for (const TimelineOp& op : timeline.ops) {
    std::string& text = line.next();
    text += label_json[op.label];
    text += to_string(op.kind);
    text += "\",\"ph\":\"X\",\"pid\":";
    append_integer(text, op.rank);
    text += ",\"tid\":";
    append_integer(text, static_cast<int>(op.stream));
    text += ",\"ts\":";
    append_microseconds(text, op.start_ps);
    text += ",\"dur\":";
    append_microseconds(text, op.end_ps - op.start_ps);
    text += ",\"args\":{\"op\":";
    append_integer(text, op.op);
    if (op.microbatch >= 0) {
      text += ",\"microbatch\":";
      append_integer(text, op.microbatch);
    }
    if (op.kind != OpKind::compute) {
      text += ",\"bytes\":";
      text += number(op.bytes);
    }
    text += "}}";
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
  NumberText number;
  write_slices(line, timeline, number);
  write_links(line, timeline, options.links);
  for (const MemorySample& m : timeline.memory) {
    std::string& text = line.next();
    text += "{\"name\":\"activation memory (GiB)\",\"ph\":\"C\",\"pid\":";
    append_integer(text, m.rank);
    text += ",\"ts\":";
    append_microseconds(text, m.time_ps);
    text += ",\"args\":{\"GiB\":";
    text += number(m.activation_bytes / (1024.0 * 1024 * 1024));
    text += "}}";
  }
  line.flush();
  out << "\n]}\n";
}

}  // namespace scaleplan
