// Scenarios written as text in tests: edits of a shipped text, the parser's message for a bad
// one, and the mixed-device cluster several tests share.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "sim/scenario/scenario.hpp"
#include "tests/support/input_errors.hpp"

namespace scaleplan::test {

// The InputError parsing `text` (file s.yaml) with the built-in catalog gives; empty for none.
inline std::string scenario_errors_of(const std::string& text) {
  return input_error_of([&] { parse_scenario(text, "s.yaml", Catalog::builtin()); });
}

#define EXPECT_SCENARIO_ERROR(text, expected)                           \
  do {                                                                  \
    const std::string e_ = ::scaleplan::test::scenario_errors_of(text); \
    EXPECT_NE(e_.find(expected), std::string::npos) << "got:\n" << e_;  \
  } while (0)

// ResNet-50, data parallel over one H100 node and one A100 node: 16 replicas.
inline const std::string mixed_resnet50_dp = R"(name: mixed
cluster:
  node_groups:
    - {name: h100, device: H100-SXM5-80GB, nodes: 1}
    - {name: a100, device: A100-SXM4-80GB, nodes: 1}
  devices_per_node: 8
  network: {topology: fat-tree, link_bandwidth_gbps: 400}
model:
  preset: resnet-50
training:
  global_batch: 2048
  micro_batch: 128
  dtype: bf16
parallelism:
  dp: 16
)";

}  // namespace scaleplan::test
