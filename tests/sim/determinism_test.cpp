// The same scenario gives the same report and trace, byte for byte: run after run in one process,
// and in threads running side by side (no hidden shared state: caches, statics, addresses used
// as keys, unordered iteration).
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/timeline/chrome_trace.hpp"

namespace scaleplan {
namespace {

// Multi-node, so that flows contend on the fat-tree and routes go through ECMP; every kind of
// parallelism and an interleaved schedule, so that many events tie in time.
const char* const scenario_text = R"(name: determinism
cluster:
  device: A100-SXM4-80GB
  nodes: 4
  devices_per_node: 4
  network: {link_bandwidth_gbps: 100, nics_per_node: 2, oversubscription: 2, switch_radix: 4}
model: {family: llama, layers: 8, hidden: 512, heads: 8, kv_heads: 4, vocab: 4096, seq_len: 256}
training: {global_batch: 32, micro_batch: 2}
parallelism:
  tp: 2
  pp: 2
  schedule: interleaved-1f1b
  virtual_stages: 2
  recompute: selective
  sequence_parallel: true
  grad_bucket_mb: 2
)";

struct Output {
  std::string json;
  std::string trace;
};

Output run_once() {
  const Scenario scenario = parse_scenario(scenario_text, "determinism.yaml", Catalog::builtin());
  const PreparedRun run = prepare_run(scenario, Catalog::builtin());
  TimelineRecorder recorder(run.plan, true);
  const Prediction prediction = predict(scenario, run, {&recorder});
  ChromeTraceOptions options;
  for (const LinkUsage& l : prediction.busiest_links)
    options.links.push_back({l.link, l.name});
  std::ostringstream trace;
  write_chrome_trace(trace, recorder.timeline(), options);
  return {format_json(prediction), trace.str()};
}

TEST(Determinism, RepeatedRunsInOneProcessAreIdentical) {
  const Output first = run_once();
  const Output second = run_once();
  ASSERT_GT(first.trace.size(), 10'000u);  // a real trace, not an empty one
  EXPECT_TRUE(first.json == second.json) << first.json << "\n---\n" << second.json;
  EXPECT_TRUE(first.trace == second.trace);
}

TEST(Determinism, ConcurrentRunsInThreadsAreIdentical) {
  const Output reference = run_once();
  Output a, b;
  std::thread ta([&] { a = run_once(); });
  std::thread tb([&] { b = run_once(); });
  ta.join();
  tb.join();
  EXPECT_TRUE(a.json == reference.json);
  EXPECT_TRUE(b.json == reference.json);
  EXPECT_TRUE(a.trace == reference.trace);
  EXPECT_TRUE(b.trace == reference.trace);
}

}  // namespace
}  // namespace scaleplan
