#include "sim/timeline/chrome_trace_reader.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>

#include <zlib.h>
#include <nlohmann/json.hpp>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& file_label, const std::string& message) {
  throw InputError({{{file_label, 0, 0}, "", message}});
}

// Microseconds (the format's unit) to integer picoseconds; nullopt for anything but a finite
// number in range.
std::optional<std::int64_t> picoseconds(const json& value) {
  if (!value.is_number())
    return std::nullopt;
  const double us = value.get<double>();
  if (!std::isfinite(us) || std::abs(us) > 9e12)  // 9e12 µs = 104 days, within int64 ps
    return std::nullopt;
  return std::llround(us * 1e6);
}

// The text of `key` in `object`, `fallback` when it is absent; a key that is there but not a
// string is an error, not a default.
std::string text_of(const json& object, const char* key, const std::string& fallback,
                    const std::string& file_label) {
  const auto it = object.find(key);
  if (it == object.end())
    return fallback;
  if (!it->is_string())
    fail(file_label, std::string("an event's \"") + key + "\" is not a string");
  return it->get<std::string>();
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// The bytes of a gzip file (RFC 1952; members one after another are read as one), refused past
// `limit`.
std::string gunzip(std::string_view packed, const std::string& file_label, std::size_t limit) {
  z_stream z{};
  // 15 + 16: any window, a gzip header and trailer (not zlib's).
  if (inflateInit2(&z, 15 + 16) != Z_OK)
    fail(file_label, "cannot start gzip decompression");
  std::string out;
  char buffer[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(std::min<std::size_t>(packed.size(), UINT32_MAX));
  std::string error;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    const int status = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
    if (out.size() > limit) {
      error =
          "unpacks to more than " + std::to_string(limit >> 20) + " MiB, the most a trace may hold";
      break;
    }
    if (status == Z_STREAM_END) {
      // Another member may follow (`cat a.gz b.gz`); other bytes after the last are ignored, as
      // gzip -d ignores trailing zeros.
      const auto rest = std::string_view(reinterpret_cast<const char*>(z.next_in), z.avail_in);
      if (!is_gzip(rest))
        break;
      inflateReset(&z);
      continue;
    }
    if (status == Z_OK)
      continue;
    if (status == Z_BUF_ERROR && z.avail_in == 0) {
      error = "the gzip data ends early (a file cut short?)";
      break;
    }
    error = std::string("not valid gzip data") + (z.msg ? std::string(": ") + z.msg : "");
    break;
  }
  inflateEnd(&z);
  if (!error.empty())
    fail(file_label, error);
  return out;
}

}  // namespace

Timeline read_chrome_trace(std::string_view bytes, const std::string& file_label,
                           std::size_t max_unpacked_bytes) {
  std::string unpacked;
  if (is_gzip(bytes))
    unpacked = gunzip(bytes, file_label, max_unpacked_bytes);
  const std::string_view json_text = is_gzip(bytes) ? std::string_view(unpacked) : bytes;
  const json root = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (root.is_discarded())
    fail(file_label, "not JSON: expected a Chrome trace ({\"traceEvents\": [...]})");
  const json* events = &root;
  if (root.is_object()) {
    auto it = root.find("traceEvents");
    if (it == root.end() || !it->is_array())
      fail(file_label, "no \"traceEvents\" array: expected a Chrome trace");
    events = &*it;
  } else if (!root.is_array()) {
    fail(file_label, "expected a Chrome trace: an object with \"traceEvents\" or an array");
  }
  if (events->size() > max_trace_events)
    fail(file_label, "the trace holds " + std::to_string(events->size()) +
                         " events, more than the " + std::to_string(max_trace_events) +
                         " a timeline may hold; trace fewer ranks or a shorter window");

  // First the streams that threads name, then the events.
  std::map<std::pair<std::int64_t, std::int64_t>, Stream> named_streams;
  for (const json& event : *events) {
    if (!event.is_object() || text_of(event, "ph", "", file_label) != "M" ||
        text_of(event, "name", "", file_label) != "thread_name")
      continue;
    const json& pid = event.value("pid", json());
    const json& tid = event.value("tid", json());
    const json args = event.value("args", json::object());
    if (!pid.is_number_integer() || !tid.is_number_integer() || !args.is_object())
      continue;
    if (auto stream = stream_names.parse(text_of(args, "name", "", file_label)))
      named_streams[{pid.get<std::int64_t>(), tid.get<std::int64_t>()}] = *stream;
  }

  Timeline timeline;
  std::map<std::int64_t, int> rank_of_pid;
  std::unordered_map<std::string, std::uint32_t> label_index;
  struct Sample {
    std::int64_t pid;
    std::int64_t time_ps;
    double bytes;
  };
  std::vector<Sample> samples;
  std::vector<std::pair<std::int64_t, TimelineOp>> ops;  // by pid until ranks are numbered
  std::size_t position = 0;
  for (const json& event : *events) {
    ++position;
    if (!event.is_object())
      continue;
    const std::string phase = text_of(event, "ph", "", file_label);
    const json& pid = event.value("pid", json());
    if ((phase != "X" && phase != "C") || !pid.is_number_integer())
      continue;
    const auto where = "event " + std::to_string(position) + ": ";
    const auto ts = picoseconds(event.value("ts", json()));
    if (!ts || *ts < 0)
      fail(file_label, where + "\"ts\" must be a number of microseconds, 0 or more");
    const std::int64_t process = pid.get<std::int64_t>();
    const json args = event.value("args", json::object());
    if (phase == "C") {
      if (text_of(event, "name", "", file_label) == "activation memory (GiB)" && args.is_object()) {
        const json& gib = args.value("GiB", json());
        if (!gib.is_number() || !std::isfinite(gib.get<double>()))
          fail(file_label, where + "args.GiB must be a number");
        samples.push_back({process, *ts, gib.get<double>() * 1024.0 * 1024 * 1024});
        rank_of_pid.emplace(process, 0);
      }
      continue;
    }
    const auto dur = picoseconds(event.value("dur", json()));
    if (!dur || *dur < 0)
      fail(file_label, where + "\"dur\" must be a number of microseconds, 0 or more");
    const json& tid = event.value("tid", json());
    if (!tid.is_number_integer())
      fail(file_label, where + "\"tid\" must be an integer (the op's stream)");
    std::optional<Stream> stream;
    if (auto it = named_streams.find({process, tid.get<std::int64_t>()}); it != named_streams.end())
      stream = it->second;
    else if (tid.get<std::int64_t>() >= 0 && tid.get<std::int64_t>() < stream_count)
      stream = static_cast<Stream>(tid.get<std::int64_t>());
    if (!stream)
      fail(file_label, where + "thread " + std::to_string(tid.get<std::int64_t>()) +
                           " names no stream; name it with a thread_name event (" +
                           join_alternatives(stream_names.names()) + ")");
    TimelineOp op;
    op.stream = *stream;
    op.kind =
        op_kind_names.parse(text_of(event, "cat", "compute", file_label)).value_or(OpKind::compute);
    op.start_ps = *ts;
    op.end_ps = *ts + *dur;
    const std::string name = text_of(event, "name", "", file_label);
    auto [label, added] = label_index.try_emplace(name, std::uint32_t(timeline.labels.size()));
    if (added)
      timeline.labels.push_back(name);
    op.label = label->second;
    if (args.is_object()) {
      if (const json& o = args.value("op", json()); o.is_number_unsigned())
        op.op =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(o.get<std::uint64_t>(), UINT32_MAX));
      if (const json& m = args.value("microbatch", json()); m.is_number_integer())
        op.microbatch = static_cast<std::int32_t>(
            std::clamp<std::int64_t>(m.get<std::int64_t>(), -1, INT32_MAX));
      if (const json& b = args.value("bytes", json());
          b.is_number() && std::isfinite(b.get<double>()))
        op.bytes = b.get<double>();
    }
    rank_of_pid.emplace(process, 0);
    ops.emplace_back(process, op);
  }
  if (ops.empty())
    fail(file_label, "the trace holds no ops (complete events, \"ph\": \"X\", of a process)");
  for (auto& [pid, rank] : rank_of_pid) {
    rank = int(timeline.ranks.size());
    timeline.ranks.push_back(int(std::clamp<std::int64_t>(pid, INT32_MIN, INT32_MAX)));
  }
  for (auto& [pid, op] : ops) {
    op.rank = rank_of_pid.at(pid);
    timeline.ops.push_back(op);
  }
  std::stable_sort(timeline.ops.begin(), timeline.ops.end(),
                   [](const TimelineOp& a, const TimelineOp& b) { return a.end_ps < b.end_ps; });
  std::stable_sort(samples.begin(), samples.end(),
                   [](const Sample& a, const Sample& b) { return a.time_ps < b.time_ps; });
  for (const Sample& s : samples)
    timeline.memory.push_back({rank_of_pid.at(s.pid), s.time_ps, s.bytes});
  return timeline;
}

}  // namespace scaleplan
