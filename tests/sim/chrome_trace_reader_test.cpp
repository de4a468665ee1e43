// Reading a Chrome trace back into a Timeline: the simulator's own trace comes back as the
// timeline it was written from, and what is not such a trace is refused with its reason.
#include "sim/timeline/chrome_trace_reader.hpp"

#include <sstream>

#include <gtest/gtest.h>
#include <zlib.h>

#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/timeline/chrome_trace.hpp"

namespace scaleplan {
namespace {

// `text` as a gzip file (what `--trace step.json.gz` writes).
std::string gzip(std::string_view text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, uLong(text.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = uInt(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(ChromeTraceReader, TheSimulatorsTraceReadsBackAsItsTimeline) {
  const Scenario s =
      load_scenario(SCALEPLAN_SOURCE_DIR "/scenarios/gpt3-1.3b-8xa100.yaml", Catalog::builtin());
  const PreparedRun run = prepare_run(s, Catalog::builtin());
  TimelineRecorder recorder(run.plan);
  predict(s, run, {&recorder});
  const Timeline& written = recorder.timeline();
  std::ostringstream out;
  write_chrome_trace(out, written, {});
  const Timeline read = read_chrome_trace(out.str(), "step.json");

  // Ranks are the processes 0..n-1; ops keep their stream, kind, times (to the picosecond: the
  // trace prints microseconds with six decimals), label, op index, micro-batch and bytes.
  ASSERT_EQ(read.ranks.size(), written.ranks.size());
  ASSERT_EQ(read.ops.size(), written.ops.size());
  EXPECT_EQ(read.end_ps(), written.end_ps());
  for (int r = 0; r < int(written.ranks.size()); ++r) {
    for (int st = 0; st < stream_count; ++st) {
      const auto a = written.ops_on(r, Stream(st));
      const auto b = read.ops_on(r, Stream(st));
      ASSERT_EQ(a.size(), b.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        const TimelineOp& x = written.ops[a[i]];
        const TimelineOp& y = read.ops[b[i]];
        EXPECT_EQ(x.start_ps, y.start_ps);
        EXPECT_EQ(x.end_ps, y.end_ps);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.op, y.op);
        EXPECT_EQ(x.microbatch, y.microbatch);
        EXPECT_EQ(written.labels[x.label], read.labels[y.label]);
        if (x.kind != OpKind::compute) {
          EXPECT_EQ(x.bytes, y.bytes);
        }
      }
    }
  }
  ASSERT_EQ(read.memory.size(), written.memory.size());
  EXPECT_NEAR(read.memory.back().activation_bytes, written.memory.back().activation_bytes,
              written.memory.back().activation_bytes * 1e-12 + 1);
}

TEST(ChromeTraceReader, AnArrayOfEventsWithoutThreadNamesUsesTheTidAsTheStream) {
  const Timeline t = read_chrome_trace(
      R"([{"name":"gemm","ph":"X","pid":3,"tid":0,"ts":1.5,"dur":2},
          {"name":"allreduce","cat":"collective","ph":"X","pid":3,"tid":4,"ts":2,"dur":1},
          {"name":"other","ph":"i","pid":3,"tid":0,"ts":1}])",
      "measured.json");
  ASSERT_EQ(t.ranks, std::vector<int>{3});
  ASSERT_EQ(t.ops.size(), 2u);
  EXPECT_EQ(t.ops[0].stream, Stream::dp_comm);  // ends first, at 3 µs
  EXPECT_EQ(t.ops[0].kind, OpKind::collective);
  EXPECT_EQ(t.ops[1].start_ps, 1'500'000);
  EXPECT_EQ(t.ops[1].end_ps, 3'500'000);
}

TEST(ChromeTraceReader, WhatIsNotATraceIsRefusedWithItsReason) {
  const auto message = [](std::string_view text) {
    try {
      read_chrome_trace(text, "bad.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("{not json").find("bad.json"), std::string::npos);
  EXPECT_NE(message("{not json").find("not JSON"), std::string::npos);
  EXPECT_NE(message(R"({"events":[]})").find("traceEvents"), std::string::npos);
  EXPECT_NE(message(R"([{"ph":"X","pid":0,"tid":0,"ts":"soon","dur":1}])").find("\"ts\""),
            std::string::npos);
  EXPECT_NE(message(R"([{"ph":"X","pid":0,"tid":0,"ts":1,"dur":-1}])").find("\"dur\""),
            std::string::npos);
  EXPECT_NE(message(R"([{"ph":"X","pid":0,"tid":77,"ts":1,"dur":1}])").find("thread 77"),
            std::string::npos);
  EXPECT_NE(message(R"([{"ph":"X","pid":0,"tid":0,"ts":1e300,"dur":1}])").find("\"ts\""),
            std::string::npos);
}

TEST(ChromeTraceReader, AGzippedTraceReadsAsThePlainOne) {
  const std::string text =
      R"([{"name":"gemm","ph":"X","pid":3,"tid":0,"ts":1.5,"dur":2},
          {"name":"allreduce","cat":"collective","ph":"X","pid":3,"tid":4,"ts":2,"dur":1}])";
  const Timeline plain = read_chrome_trace(text, "measured.json");
  const std::string packed = gzip(text);
  ASSERT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
  const Timeline unpacked = read_chrome_trace(packed, "measured.json.gz");
  ASSERT_EQ(unpacked.ops.size(), plain.ops.size());
  for (std::size_t i = 0; i < plain.ops.size(); ++i) {
    EXPECT_EQ(unpacked.ops[i].start_ps, plain.ops[i].start_ps);
    EXPECT_EQ(unpacked.ops[i].end_ps, plain.ops[i].end_ps);
    EXPECT_EQ(unpacked.ops[i].stream, plain.ops[i].stream);
  }
  EXPECT_EQ(unpacked.labels, plain.labels);
  // Two members one after the other (`cat a.gz b.gz`) are one text: here a trace split in two.
  const std::size_t half = text.size() / 2;
  EXPECT_EQ(
      read_chrome_trace(gzip(text.substr(0, half)) + gzip(text.substr(half)), "two.gz").ops.size(),
      plain.ops.size());

  const auto message = [](const std::string& bytes) {
    try {
      read_chrome_trace(bytes, "bad.json.gz");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // Cut short, damaged, or a bomb: refused with the file and the reason.
  EXPECT_NE(message(packed.substr(0, packed.size() / 2)).find("bad.json.gz: the gzip data ends"),
            std::string::npos)
      << message(packed.substr(0, packed.size() / 2));
  std::string damaged = packed;
  damaged[12] = static_cast<char>(damaged[12] ^ 0x55);
  damaged[13] = static_cast<char>(damaged[13] ^ 0x55);
  EXPECT_NE(message(damaged).find("bad.json.gz"), std::string::npos);
  EXPECT_EQ(message(damaged).find("accepted"), std::string::npos);
  // A bomb: 3 members of 1 MiB of spaces each, 3 MiB from about 3 kB, against a limit of 2 MiB
  // (the real one is 256 MiB).
  const std::string mib = gzip(std::string(std::size_t(1) << 20, ' '));
  const std::string bomb = mib + mib + mib;
  EXPECT_LT(bomb.size(), std::size_t(1) << 14);
  try {
    read_chrome_trace(bomb, "bomb.json.gz", std::size_t(2) << 20);
    ADD_FAILURE() << "a bomb was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bomb.json.gz: unpacks to more than 2 MiB"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace scaleplan
