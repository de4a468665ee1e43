// The sweep file: axes combined as a product or zipped, the filter, and errors at file:line:key.
#include <gtest/gtest.h>

#include "sim/sweep/sweep_filter.hpp"
#include "tests/sweep/sweep_test_support.hpp"

namespace scaleplan::sweep {
namespace {

using test::parse_test_sweep;

std::string errors_of(const std::string& rest) {
  try {
    parse_test_sweep(rest);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(SweepSpec, AxesMakeTheirProductFirstAxisSlowest) {
  const Sweep s = parse_test_sweep(
      "axes:\n  training.micro_batch: [1, 2]\n  parallelism.recompute: [none, selective, full]\n");
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s.values_of(0), (std::vector<std::string>{"1", "none"}));
  EXPECT_EQ(s.values_of(1), (std::vector<std::string>{"1", "selective"}));
  EXPECT_EQ(s.values_of(3), (std::vector<std::string>{"2", "none"}));
  EXPECT_EQ(s.values_of(5), (std::vector<std::string>{"2", "full"}));
  EXPECT_EQ(s.name, "sweep");
}

TEST(SweepSpec, ZippedAxesAdvanceTogether) {
  const Sweep s = parse_test_sweep(
      "axes:\n  parallelism.pp: [1, 2, 4]\n  parallelism.dp: [8, 4, 2]\n"
      "  training.micro_batch: [1, 2]\nzip:\n  - [parallelism.pp, parallelism.dp]\n");
  // 3 (pp with dp) x 2 micro-batches.
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s.values_of(0), (std::vector<std::string>{"1", "8", "1"}));
  EXPECT_EQ(s.values_of(3), (std::vector<std::string>{"2", "4", "2"}));
  EXPECT_EQ(s.values_of(5), (std::vector<std::string>{"4", "2", "2"}));
}

TEST(SweepSpec, TheFilterDropsCombinationsAndReadsTheBase) {
  const Sweep s = parse_test_sweep(
      "axes:\n  parallelism.pp: [1, 2, 4, 8]\n  parallelism.dp: [1, 2, 4, 8]\n"
      "filter: parallelism.pp * parallelism.dp == cluster.devices_per_node * cluster.nodes\n");
  // (1, 8), (2, 4), (4, 2), (8, 1).
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s.values_of(0), (std::vector<std::string>{"1", "8"}));
  EXPECT_EQ(s.values_of(3), (std::vector<std::string>{"8", "1"}));
}

TEST(SweepSpec, AValueMayBeAMapping) {
  const Sweep s = parse_test_sweep(
      "axes:\n  model: [{preset: gpt3-1.3b}, {preset: llama3-8b, seq_len: 2048}]\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.values_of(1).front(), "{preset: llama3-8b, seq_len: 2048}");
}

TEST(SweepSpec, AnUnknownAxisKeyIsAnErrorAtItsLine) {
  const std::string e = errors_of("axes:\n  parallelism.tq: [1, 2]\n");
  // The base takes lines 1 to 5; axes is line 6, the axis line 7.
  EXPECT_NE(e.find("sweep.yaml:7:3: axes.parallelism.tq:"), std::string::npos) << e;
  EXPECT_NE(e.find("tp"), std::string::npos) << e;  // the key meant
}

TEST(SweepSpec, BadFilesGetEveryErrorAtFileLineKey) {
  EXPECT_NE(errors_of("axes:\n  training.micro_batch: 4\n")
                .find("sweep.yaml:7:25: "
                      "axes.training.micro_batch: "
                      "expected a list"),
            std::string::npos);
  EXPECT_NE(errors_of("axes:\n  training.micro_batch: [1, 1]\n").find("listed twice"),
            std::string::npos);
  const std::string zip = errors_of(
      "axes:\n  parallelism.pp: [1, 2]\n  parallelism.dp: [8, 4, 2]\nzip: [[parallelism.pp, "
      "parallelism.dp]]\n");
  EXPECT_NE(zip.find("sweep.yaml:9:7: zip[0]: zipped axes advance together"), std::string::npos)
      << zip;
  EXPECT_NE(zip.find("parallelism.pp has 2"), std::string::npos) << zip;
  const std::string unknown_zip =
      errors_of("axes:\n  parallelism.pp: [1, 2]\nzip: [[parallelism.pp, parallelism.dp]]\n");
  EXPECT_NE(unknown_zip.find("'parallelism.dp' is not an axis"), std::string::npos) << unknown_zip;
  const std::string typo = errors_of("axes:\n  parallelism.pp: [1, 2]\nfliter: x\n");
  EXPECT_NE(typo.find("sweep.yaml:8:1: fliter: unknown key"), std::string::npos) << typo;
  EXPECT_NE(errors_of("axes: {}\n").find("sweep.yaml:6:7: axes: expected a mapping"),
            std::string::npos);
  EXPECT_NE(errors_of("").find("axes: required key is missing"), std::string::npos)
      << errors_of("");
}

TEST(SweepSpec, FilterErrorsNameTheCharacterAndTheCombination) {
  const std::string syntax =
      errors_of("axes:\n  parallelism.pp: [1, 2]\nfilter: parallelism.pp * (2\n");
  EXPECT_NE(syntax.find("sweep.yaml:8:9: filter: expected ')' (at character 20"), std::string::npos)
      << syntax;
  const std::string key =
      errors_of("axes:\n  parallelism.pp: [1, 2]\nfilter: parallelism.qq > 1\n");
  EXPECT_NE(key.find("'parallelism.qq' is not an axis or a key of the base scenario"),
            std::string::npos)
      << key;
  const std::string type = errors_of(
      "axes:\n  parallelism.recompute: [none, full]\nfilter: parallelism.recompute > 1\n");
  EXPECT_NE(type.find("'>' takes numbers, got the text 'none' with parallelism.recompute none"),
            std::string::npos)
      << type;
  const std::string none =
      errors_of("axes:\n  parallelism.pp: [1, 2]\nfilter: parallelism.pp > 2\n");
  EXPECT_NE(none.find("drops every combination"), std::string::npos) << none;
}

TEST(SweepSpec, ABaseByPathIsReadRelativeToTheSweep) {
  const Sweep s = load_sweep(
      std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/sweeps/micro-batch-x-recompute.yaml",
      Catalog::builtin());
  EXPECT_EQ(s.size(), 18u);
  EXPECT_NE(s.base_yaml.find("gpt3-1.3b-8xa100"), std::string::npos);
  try {
    parse_sweep("base: missing.yaml\naxes: {training.micro_batch: [1]}\n", "dir/sweep.yaml",
                Catalog::builtin());
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dir/sweep.yaml:1:7: base: cannot read the base "
                                         "scenario dir/missing.yaml"),
              std::string::npos)
        << e.what();
  }
}

FilterValue no_keys(std::size_t) {
  return 0.0;
}

bool evaluate(const std::string& text) {
  return Filter(text, [](const std::string&) { return false; }).keep(no_keys);
}

TEST(SweepFilter, ArithmeticComparisonAndLogicFollowPrecedence) {
  EXPECT_TRUE(evaluate("1 + 2 * 3 == 7"));
  EXPECT_TRUE(evaluate("(1 + 2) * 3 == 9"));
  EXPECT_TRUE(evaluate("7 % 4 == 3 and not 1 > 2"));
  EXPECT_TRUE(evaluate("1 > 2 or 2 >= 2 && true"));
  EXPECT_TRUE(evaluate("'a' != \"b\""));
  EXPECT_TRUE(evaluate("-2 < -1"));
  EXPECT_THROW(evaluate("1 / 0 > 0"), FilterError);
  EXPECT_THROW(evaluate("1.5 % 1 == 0"), FilterError);
  EXPECT_THROW(evaluate("1 + 2"), FilterError);  // not true or false
  EXPECT_THROW(evaluate("1 == 'a'"), FilterError);
  EXPECT_THROW(evaluate("1 2"), FilterError);
  EXPECT_THROW(evaluate("0x10 > 1"), FilterError);  // the one number syntax of every input
}

TEST(SweepFilter, KeysAreReadOnceEach) {
  const Filter f("a.b * a.b <= c_d", [](const std::string&) { return true; });
  EXPECT_EQ(f.keys(), (std::vector<std::string>{"a.b", "c_d"}));
  EXPECT_TRUE(f.keep([](std::size_t k) { return FilterValue(k == 0 ? 3.0 : 9.0); }));
  const Filter minus("a-b > 0", [](const std::string&) { return true; });
  EXPECT_EQ(minus.keys(), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace scaleplan::sweep
