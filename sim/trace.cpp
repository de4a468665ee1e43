#include "sim/trace.hpp"

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

namespace {
// Microseconds with picosecond resolution, printed the same way on every run.
std::string microseconds(SimTime t) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%lld.%06lld", static_cast<long long>(t / 1'000'000),
                static_cast<long long>(t % 1'000'000));
  return buffer;
}
}  // namespace

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
  for (const Sample& m : samples_) {
    line("{\"name\":\"activation memory (GiB)\",\"ph\":\"C\",\"pid\":" + std::to_string(m.rank) +
         ",\"ts\":" + microseconds(m.time) +
         ",\"args\":{\"GiB\":" + nlohmann::json(m.bytes / (1024.0 * 1024 * 1024)).dump() + "}}");
  }
  out << "\n]}\n";
}

}  // namespace scaleplan
