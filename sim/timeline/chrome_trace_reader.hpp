// Reading a Chrome / Perfetto trace back into a Timeline: the trace write_chrome_trace writes, a
// measured run's trace in the same format (the executor's), or any trace that follows its
// conventions, so that a measured step can be set beside a predicted one (the GUI's timeline)
// and compared op by op.
//
// A gzip-compressed trace (`scaleplan run --trace step.json.gz` writes one) is unpacked first:
// the reader knows it by its first two bytes, whatever the file's name.
//
// What is read: the Trace Event Format's object form ({"traceEvents": [...]}) or its array form.
// Each process (pid) is a rank, in pid order (Timeline::ranks holds the pids); each thread is a
// stream, by its thread_name when that names a stream ("compute", "tp-comm", ...; sim/plan),
// else by its tid when that is a stream's index; complete events ("ph": "X") are ops, their name
// the label, their category the op kind ("compute" unless it names another), args.op,
// args.microbatch and args.bytes where present; counters named "activation memory (GiB)" are
// memory samples. Other events (the network's link counters, flow events, metadata) are skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sim/timeline/timeline.hpp"

namespace scaleplan {

// The most events a trace may hold, as for a recorded timeline (about 2 million), so that a
// hostile file cannot exhaust memory through the reader.
inline constexpr std::size_t max_trace_events = std::size_t(1) << 21;
// The most bytes a gzip-compressed trace may unpack to: 256 MiB, the limit of any input file, so
// that a small file cannot unpack into gigabytes.
inline constexpr std::size_t max_unpacked_trace_bytes = std::size_t(256) << 20;

// Reads `bytes`, the trace's JSON text or that text gzip-compressed. Throws InputError naming
// `file_label` for bytes that are not such a trace (gzip data that is damaged, cut short or
// unpacks past max_unpacked_trace_bytes; not JSON, no events array, an event without a number
// where one is needed or with a key of the wrong type, a negative time, a stream that cannot be
// told, no op at all), or one of more than max_trace_events events. `max_unpacked_bytes` is the
// limit on gzip-compressed bytes unpacked (a test's smaller one).
Timeline read_chrome_trace(std::string_view bytes, const std::string& file_label,
                           std::size_t max_unpacked_bytes = max_unpacked_trace_bytes);

}  // namespace scaleplan
