// The schema reader's ranged getters and file header: what each accepts, what an absent key gives,
// and the message that says what would be valid.
#include <functional>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {
namespace {

// Every diagnostic the reader gives for `text` after `read` has asked for its keys.
std::string diagnostics_of(const std::string& text, const std::function<void(MapReader&)>& read) {
  const YAML::Node node = load_yaml_string(text, "f.yaml");
  Diagnostics diagnostics("f.yaml");
  MapReader map(node, "section", diagnostics);
  read(map);
  map.finish();
  try {
    diagnostics.throw_if_any();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(MapReaderRanges, IntegerWithinRange) {
  std::optional<std::int64_t> low, high, absent, defaulted;
  EXPECT_EQ(diagnostics_of("low: 1\nhigh: 64\n",
                           [&](MapReader& m) {
                             low = m.integer("low", 1, 64);
                             high = m.integer("high", 1, 64, required_key);
                             absent = m.integer("absent", 1, 64);
                             defaulted = m.integer("defaulted", 1, 64, 8);
                           }),
            "");
  EXPECT_EQ(low, 1);
  EXPECT_EQ(high, 64);
  EXPECT_EQ(absent, std::nullopt);
  EXPECT_EQ(defaulted, 8);
}

TEST(MapReaderRanges, IntegerMessagesSayTheRange) {
  std::optional<std::int64_t> out_of_range;
  EXPECT_EQ(diagnostics_of("a: 0\nb: -3\nc: 2.5\n",
                           [&](MapReader& m) {
                             out_of_range = m.integer("a", 1, 64, 4);
                             (void)m.integer("b", 1, std::numeric_limits<std::int64_t>::max());
                             (void)m.integer("c", 1, 64);
                             (void)m.integer("d", 1, 64, required_key);
                           }),
            "f.yaml:1:4: section.a: 0 is out of range; use a value from 1 to 64\n"
            "f.yaml:2:4: section.b: -3 is out of range; use 1 or more\n"
            "f.yaml:3:4: section.c: expected an integer, got '2.5'\n"
            "f.yaml:1:1: section.d: required key is missing");
  // A value out of range is refused, not replaced by the default.
  EXPECT_EQ(out_of_range, std::nullopt);
}

TEST(MapReaderRanges, NumberMessagesSayTheRangeAndTheValue) {
  // Numbers print in their shortest form: 1e6 as 1000000, not std::to_string's 1000000.000000.
  EXPECT_EQ(diagnostics_of("closed: 65\npositive: 0\nhalf_open: 1\nnon_negative: -0.5\n"
                           "capped: 2000000\n",
                           [](MapReader& m) {
                             (void)m.number("closed", NumberRange::closed(1, 64));
                             (void)m.number("positive", NumberRange::positive(), 1.0);
                             (void)m.number("half_open", NumberRange::below(0, 1));
                             (void)m.number("non_negative", NumberRange::non_negative());
                             (void)m.number("capped", NumberRange::positive(1e6), required_key);
                           }),
            "f.yaml:1:9: section.closed: must be from 1 to 64, got 65\n"
            "f.yaml:2:11: section.positive: must be greater than 0, got 0\n"
            "f.yaml:3:12: section.half_open: must be at least 0 and less than 1, got 1\n"
            "f.yaml:4:15: section.non_negative: must not be negative, got -0.5\n"
            "f.yaml:5:9: section.capped: must be greater than 0 and at most 1000000, got 2000000");
}

TEST(MapReaderRanges, NumberAbsentOrDefaulted) {
  std::optional<double> absent, defaulted, edge;
  EXPECT_EQ(diagnostics_of("edge: 1e-3\n",
                           [&](MapReader& m) {
                             absent = m.number("absent", NumberRange::positive());
                             defaulted = m.number("defaulted", NumberRange::positive(), 2.5);
                             edge = m.number("edge", NumberRange::closed(1e-3, 64));
                           }),
            "");
  EXPECT_EQ(absent, std::nullopt);
  EXPECT_EQ(defaulted, 2.5);
  EXPECT_EQ(edge, 1e-3);
  EXPECT_EQ(diagnostics_of("", [](MapReader& m) {
              (void)m.number("needed", NumberRange::positive(), required_key);
            }),
            "f.yaml: section.needed: required key is missing");
}

TEST(MapReaderRanges, Lists) {
  std::optional<std::vector<std::int64_t>> dims;
  EXPECT_EQ(diagnostics_of("dims: [4, 4, 2]\n",
                           [&](MapReader& m) { dims = m.integers("dims", 1, 16, 2, 3); }),
            "");
  EXPECT_EQ(dims, (std::vector<std::int64_t>{4, 4, 2}));
  EXPECT_EQ(diagnostics_of("a: [1, 2, 3, 4]\nb: [1, 0]\nc: [1.5, 2]\nd: [1, x]\ne: 3\n",
                           [](MapReader& m) {
                             (void)m.integers("a", 1, 16, 2, 3);
                             (void)m.integers("b", 1, 16, 2, 2);
                             (void)m.integers("c", 1, 16, 2, 2);
                             (void)m.numbers("d", NumberRange::positive(), 1, 2);
                             (void)m.numbers("e", NumberRange::positive(), 1, 2);
                           }),
            "f.yaml:1:4: section.a: expected 2 to 3 values, got 4\n"
            "f.yaml:2:4: section.b: every value must be from 1 to 16, got 0\n"
            "f.yaml:3:4: section.c: expected whole numbers, got 1.5\n"
            "f.yaml:4:8: section.d: expected a list of numbers\n"
            "f.yaml:5:4: section.e: expected a list of numbers");
}

TEST(MapReaderHeader, AcceptsItsOwnFormat) {
  bool right = false;
  EXPECT_EQ(diagnostics_of("format: scaleplan-plan\nversion: 1\n",
                           [&](MapReader& m) { right = m.header("scaleplan-plan", "plan", 1); }),
            "");
  EXPECT_TRUE(right);
  EXPECT_EQ(diagnostics_of("format: scaleplan-profile/1\n",
                           [&](MapReader& m) {
                             right = m.header("scaleplan-profile/1", "calibration profile");
                           }),
            "");
  EXPECT_TRUE(right);
}

TEST(MapReaderHeader, NamesWhatTheFileShouldBe) {
  bool right = true;
  EXPECT_EQ(diagnostics_of("format: scaleplan-profile/1\nversion: 2\n",
                           [&](MapReader& m) { right = m.header("scaleplan-plan", "plan", 1); }),
            "f.yaml:1:9: section.format: expected 'scaleplan-plan' (a plan file), got "
            "'scaleplan-profile/1'\n"
            "f.yaml:2:10: section.version: version 2 is not supported; this build reads version 1");
  EXPECT_FALSE(right);
  right = true;
  EXPECT_EQ(diagnostics_of("name: x\n",
                           [&](MapReader& m) {
                             right = m.header("scaleplan-measurements/1", "measurements");
                             m.accept("name");
                           }),
            "f.yaml:1:1: section.format: required key is missing");
  EXPECT_FALSE(right);
}

}  // namespace
}  // namespace scaleplan
