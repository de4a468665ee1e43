// Every error the plan reader (sim/plan_io.cpp) and plan validation (sim/plan.cpp) can give,
// with its message, and the round trip of hostile strings through the writer.
#include <sstream>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"
#include "sim/plan/plan_io.hpp"
#include "tests/support/input_errors.hpp"

namespace scaleplan {
namespace {

const std::string header = "format: scaleplan-plan\nversion: 1\n";

// Two ranks, one block, one group: a valid plan that tests break one key at a time.
const std::string valid = header + R"(labels: ["op"]
blocks:
  - name: "b"
    kernels:
      - {name: "g", kind: gemm, dtype: bf16, flops: 1, bytes: 1, m: 1, n: 1, k: 1, batch: 1}
groups:
  - {name: "dp", ranks: [0, 1]}
ranks:
  - rank: 0
    device: 0
    ops:
      - {kind: compute, stream: compute, label: 0, block: 0}
      - {kind: send, stream: pp-send-next, label: 0, peer: 1, bytes: 8, deps: [0]}
      - {kind: collective, stream: dp-comm, label: 0, collective: all-reduce, group: 0, bytes: 8}
  - rank: 1
    device: 1
    ops:
      - {kind: recv, stream: pp-recv-prev, label: 0, peer: 0, bytes: 8}
      - {kind: collective, stream: dp-comm, label: 0, collective: all-reduce, group: 0, bytes: 8}
)";

std::string errors_of(const std::string& text) {
  return test::input_error_of([&] { parse_plan(text, "p.yaml"); });
}

TEST(PlanIoErrors, ValidPlanParses) {
  EXPECT_EQ(errors_of(valid), "");
}

TEST(PlanIoErrors, NotAPlanFile) {
  EXPECT_EQ(
      errors_of("format: scaleplan-scenario\nversion: 1\n"),
      "p.yaml:1:9: format: expected 'scaleplan-plan' (a plan file), got 'scaleplan-scenario'");
  EXPECT_EQ(errors_of("format: scaleplan-plan\nversion: 9\n"),
            "p.yaml:2:10: version: version 9 is not supported; this build reads version 1");
  EXPECT_EQ(errors_of("name: x\n"),
            "p.yaml:1:1: format: required key is missing\n"
            "p.yaml:1:1: version: required key is missing");
}

TEST(PlanIoErrors, LabelsAreDistinctStrings) {
  EXPECT_EQ(errors_of(test::replace(valid, "labels: [\"op\"]", "labels: [\"op\", [1]]")),
            "p.yaml:3:16: labels: expected a string");
  EXPECT_EQ(errors_of(test::replace(valid, "labels: [\"op\"]", "labels: [\"op\", \"x\", \"op\"]")),
            "p.yaml:3:21: labels: \"op\" repeats labels[0]; labels are distinct (ops name them by "
            "index)");
}

TEST(PlanIoErrors, NegativeSizesAreRefused) {
  const std::string e = errors_of(
      test::replace(test::replace(valid, "flops: 1, bytes: 1, m: 1", "flops: -1, bytes: 1, m: -4"),
                    "peer: 1, bytes: 8", "peer: 1, bytes: -8"));
  EXPECT_NE(e.find("p.yaml:7:53: blocks[0].kernels[0].flops: must be from 0 to 1e+21, got -1"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("blocks[0].kernels[0].m: -4 is out of range; use 0 or more"), std::string::npos)
      << e;
  EXPECT_NE(e.find("ranks[0].ops[1].bytes: must be from 0 to 1e+21, got -8"), std::string::npos)
      << e;
}

TEST(PlanIoErrors, IndicesMustPointIntoTheTables) {
  const std::string e = errors_of(
      test::replace(test::replace(valid, "label: 0, block: 0", "label: 3, block: 2"),
                    "group: 0, bytes: 8}\n  - rank: 1", "group: 5, bytes: 8}\n  - rank: 1"));
  EXPECT_NE(e.find("ranks[0].ops[0].label: 3 is not a valid label index (there are 1)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("ranks[0].ops[0].block: 2 is not a valid block index (there are 1)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("ranks[0].ops[2].group: 5 is not a valid group index (there are 1)"),
            std::string::npos)
      << e;
}

TEST(PlanIoErrors, ExpertDispatchNeedsAValidRouting) {
  auto with = [](const std::string& dispatch) {
    return test::replace(valid, "{name: \"dp\", ranks: [0, 1]}",
                         "{name: \"dp\", ranks: [0, 1], expert_dispatch: " + dispatch + "}");
  };
  EXPECT_EQ(errors_of(with("{dispatcher: deepep, routing: uniform, experts: 8, top_k: 2}")), "");
  EXPECT_NE(errors_of(with("{routing: uniform}"))
                .find("expert_dispatch.dispatcher: is required: all-to-all or deepep"),
            std::string::npos);
  EXPECT_NE(errors_of(with("{dispatcher: hybridep}"))
                .find("expert_dispatch.dispatcher: 'hybridep' is not one of all-to-all or deepep"),
            std::string::npos);
  EXPECT_NE(errors_of(with("{dispatcher: deepep, routing: group-limited, experts: 8, top_k: 2, "
                           "router_groups: 3}"))
                .find("expert_dispatch.routing: expert routing: group-limited routing needs"),
            std::string::npos);
  EXPECT_NE(errors_of(with("{dispatcher: deepep, experts: 8, top_k: 2, copies_per_token: 0}"))
                .find("expert_dispatch.copies_per_token:"),
            std::string::npos);
}

TEST(PlanIoErrors, ACycleIsRefused) {
  // deps point backwards only; an op depending on itself or a later op could never start.
  const std::string e =
      errors_of(test::replace(valid, "bytes: 8, deps: [0]}", "bytes: 8, deps: [1]}"));
  EXPECT_NE(e.find("ranks[0].ops[1].deps: op 1 is not an earlier op of this rank (dependencies "
                   "point backwards; a cycle cannot run)"),
            std::string::npos)
      << e;
  const std::string not_index = errors_of(test::replace(valid, "deps: [0]", "deps: [first]"));
  EXPECT_NE(not_index.find("ranks[0].ops[1].deps: expected an op index"), std::string::npos)
      << not_index;
}

TEST(PlanIoErrors, IntegersPastIntAreRefusedNotWrapped) {
  // 4294967297 = 2^32 + 1 would wrap to peer 1, a valid rank, if narrowed silently.
  const std::string e = errors_of(test::replace(valid, "peer: 1,", "peer: 4294967297,"));
  EXPECT_NE(e.find("ranks[0].ops[1].peer: 4294967297 is out of range; use a value from 0 to "
                   "2147483647"),
            std::string::npos)
      << e;
  const std::string device = errors_of(test::replace(valid, "device: 1", "device: -2"));
  EXPECT_NE(device.find("ranks[1].device: -2 is out of range; use a value from 0 to 2147483647"),
            std::string::npos)
      << device;
  const std::string missing = errors_of(test::replace(valid, "    device: 1\n", ""));
  EXPECT_NE(missing.find("ranks[1].device: must be a device index, 0 or more"), std::string::npos)
      << missing;
  const std::string group_rank = errors_of(test::replace(valid, "ranks: [0, 1]", "ranks: [0, x]"));
  EXPECT_NE(group_rank.find("groups[0].ranks: expected a rank number"), std::string::npos)
      << group_rank;
}

TEST(PlanIoErrors, ValidationFailuresNameTheLineOfTheOp) {
  // Each problem found by validate_plan points at the op (or rank, group) at fault: its line,
  // column and place in the file.
  EXPECT_EQ(errors_of(test::replace(valid, "  - rank: 1", "  - rank: 2")),
            "p.yaml:17:5: ranks[1]: plan: rank 2: ranks must be listed in order 0, 1, 2, ...");
  EXPECT_EQ(errors_of(test::replace(valid, "peer: 0, bytes: 8}", "peer: 1, bytes: 8}")),
            "p.yaml:20:9: ranks[1].ops[0]: plan: rank 1 op 0: peer rank 1 is not another rank");
  EXPECT_EQ(errors_of(test::replace(valid, "ranks: [0, 1]", "ranks: [0, 1, 4]")),
            "p.yaml:9:5: groups[0]: plan: group 0 names rank 4, which does not exist");
  EXPECT_EQ(errors_of(test::replace(valid, "ranks: [0, 1]", "ranks: [0]")),
            "p.yaml:21:9: ranks[1].ops[1]: plan: rank 1 op 1: collective on a group this rank is "
            "not in");
  // Rank 1's collective removed: the group's members disagree on how many collectives they run.
  const std::string unmatched = valid.substr(0, valid.rfind("      - {kind: collective"));
  EXPECT_EQ(errors_of(unmatched),
            "p.yaml:9:5: groups[0]: plan: group 0 (dp): rank 1 issues 0 collectives, rank 0 "
            "issues 1");
  // Rank 1's receive removed: rank 0's send has no partner.
  EXPECT_EQ(
      errors_of(test::replace(
          valid, "      - {kind: recv, stream: pp-recv-prev, label: 0, peer: 0, bytes: 8}\n", "")),
      "p.yaml:11:5: ranks[0]: plan: rank 0 sends more messages to rank 1 than it receives");
}

TEST(PlanIoErrors, HostileStringsRoundTrip) {
  // The writer once left control characters raw, so a label with a newline read back with a
  // space instead (found by the plan fuzzer).
  const std::string text =
      test::replace(valid, "labels: [\"op\"]",
                    "labels: [\"op\", \"a\\nb\", \"tab\\there\", \"nul\\x00\\x7f\", \"c1\\u0085\", "
                    "\"quote \\\" back \\\\\", \"ünï 𝛼\"]");
  const Plan plan = parse_plan(text, "p.yaml");
  ASSERT_EQ(plan.labels.size(), 7u);
  EXPECT_EQ(plan.labels[1], "a\nb");
  EXPECT_EQ(plan.labels[3], std::string("nul\0\x7f", 5));
  std::ostringstream once;
  write_plan(plan, once);
  const Plan again = parse_plan(once.str(), "p2.yaml");
  EXPECT_EQ(again.labels, plan.labels);
  std::ostringstream twice;
  write_plan(again, twice);
  EXPECT_EQ(once.str(), twice.str());
}

}  // namespace
}  // namespace scaleplan
