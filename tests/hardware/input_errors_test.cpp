// Every error the YAML reading layer can give a user, with its message: what a user sees when a
// file is missing, too big, not UTF-8, not YAML, or has a key of the wrong type or out of range.
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"
#include "tests/support/input_errors.hpp"

namespace scaleplan {
namespace {

using test::diagnostics_of;
using test::message_of;

std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "scaleplan-input-errors-test";
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(InputErrors, MissingFile) {
  EXPECT_EQ(message_of([] { read_input_file("/nonexistent/scenario.yaml"); }),
            "/nonexistent/scenario.yaml: no such file");
}

TEST(InputErrors, DirectoryIsNotARegularFile) {
  const auto dir = temp_dir();
  EXPECT_EQ(message_of([&] { read_input_file(dir); }), dir.string() + ": not a regular file");
}

TEST(InputErrors, HundredGigabyteFileIsRefusedBeforeReading) {
  // A sparse file: 100 GB by its size, no blocks on disk. Reading it would exhaust memory; the
  // size check refuses it before a byte is read.
  const auto path = temp_dir() / "huge.yaml";
  { std::ofstream(path) << "name: x\n"; }
  std::filesystem::resize_file(path, 100'000'000'000ull);
  const std::string e = message_of([&] { load_yaml_file(path); });
  std::filesystem::remove(path);
  EXPECT_EQ(e,
            path.string() + ": file is 100000000000 bytes; inputs are limited to 268435456 bytes");
}

TEST(InputErrors, InvalidUtf8NamesLineAndColumn) {
  // 0xBD cannot start a UTF-8 sequence (a fuzzer found it breaking the JSON report when it sat
  // in a scenario's name).
  EXPECT_EQ(message_of([] {
              load_yaml_string(
                  "a: 1\nname: sm\xbd"
                  "ll\n",
                  "s.yaml");
            }),
            "s.yaml:2:9: byte 0xBD is not valid UTF-8; save the file as UTF-8 text");
  // Overlong encodings, UTF-16 surrogates and truncated sequences are malformed too.
  for (const char* bad :
       {"a: \xc0\xaf\n", "a: \xed\xa0\x80\n", "a: \xe2\x82\n", "a: \xf5\x80\x80\x80"}) {
    EXPECT_NE(message_of([&] { load_yaml_string(bad, "s.yaml"); }).find("is not valid UTF-8"),
              std::string::npos);
  }
  // Well-formed multi-byte text is fine.
  EXPECT_NO_THROW(load_yaml_string("name: \"tp·pp × 8 — ünïcödé 𝛼\"\n", "s.yaml"));
}

TEST(InputErrors, MalformedYamlNamesLineAndColumn) {
  EXPECT_EQ(message_of([] { load_yaml_string("a: 1\nb: [1, 2\n", "bad.yaml"); }),
            "bad.yaml:3:1: malformed YAML: end of sequence flow not found");
}

TEST(InputErrors, ATabInTheIndentationIsNamed) {
  // yaml-cpp's own message does not say that the tab is the fault.
  const std::string e =
      message_of([] { load_yaml_string("parallelism:\n  pp: 1\n\ttp: 2\n", "tab.yaml"); });
  EXPECT_EQ(e.find("tab.yaml:3:"), 0u) << e;
  EXPECT_NE(e.find("malformed YAML: "), std::string::npos) << e;
  EXPECT_NE(e.find("(line 3 is indented with a tab; YAML indents with spaces only)"),
            std::string::npos)
      << e;
  // A tab inside a value, or a malformed file without tabs, gets no such note.
  const std::string other =
      message_of([] { load_yaml_string("a: \"x\ty\"\nb: [1, 2\n", "bad.yaml"); });
  EXPECT_EQ(other.find("tab"), std::string::npos) << other;
}

TEST(InputErrors, TopLevelMustBeAMapping) {
  const YAML::Node node = load_yaml_string("- 1\n- 2\n", "f.yaml");
  Diagnostics diagnostics("f.yaml");
  MapReader map(node, "", diagnostics);
  EXPECT_EQ(message_of([&] { diagnostics.throw_if_any(); }),
            "f.yaml:1:1: <top level>: expected a mapping of keys to values");
}

TEST(InputErrors, EveryTypeErrorNamesTheKey) {
  const std::string e = diagnostics_of(
      "n: [1]\nx: .inf\nb: perhaps\ns: {a: 1}\nl: 3\nc: ringg\nm: 5\nr: 1\nk: [ring]\n",
      [](MapReader& m) {
        (void)m.integer("n");
        (void)m.number("x");
        (void)m.boolean("b");
        (void)m.string("s");
        (void)m.sequence("l");
        (void)m.choice("c", {"ring", "tree"});
        (void)m.child("m");
        (void)m.require("absent");
        (void)m.number("r");
        (void)m.choice("k", {"ring", "tree"});
      });
  EXPECT_EQ(e,
            "f.yaml:1:4: section.n: expected an integer\n"
            "f.yaml:2:4: section.x: expected a finite number, got '.inf'\n"
            "f.yaml:3:4: section.b: expected true or false, got 'perhaps'\n"
            "f.yaml:4:4: section.s: expected a string\n"
            "f.yaml:5:4: section.l: expected a list\n"
            "f.yaml:6:4: section.c: 'ringg' is not one of ring or tree; did you mean 'ring'?\n"
            "f.yaml:7:4: section.m: expected a mapping of keys to values\n"
            "f.yaml:1:1: section.absent: required key is missing\n"
            "f.yaml:9:4: section.k: expected one of ring or tree");
}

TEST(InputErrors, UnknownKeyWithoutANearMatchListsTheValidOnes) {
  const std::string e = diagnostics_of("nodes: 1\nzzzzzzzz: 2\n[1, 2]: 3\n", [](MapReader& m) {
    (void)m.integer("nodes");
    m.accept("devices_per_node");
  });
  EXPECT_EQ(e,
            "f.yaml:2:1: section.zzzzzzzz: unknown key; valid keys here: nodes or "
            "devices_per_node\n"
            "f.yaml:3:1: section.<complex key>: unknown key; valid keys here: nodes or "
            "devices_per_node");
}

TEST(InputErrors, RepeatedKeyIsAnError) {
  // Found in review: two `schedule:` lines ran with the first and said nothing.
  const std::string e =
      diagnostics_of("nodes: 1\nnodes: 2\n", [](MapReader& m) { (void)m.integer("nodes"); });
  EXPECT_EQ(e,
            "f.yaml:2:1: section.nodes: appears twice in this mapping (first at line 1); keep one");
}

TEST(InputErrors, ChoiceWithoutANearMatchListsTheAllowedValues) {
  const std::string e = diagnostics_of("c: qqqqqqqq\n", [](MapReader& m) {
    (void)m.choice("c", {"ring", "tree", "direct"});
  });
  EXPECT_EQ(e, "f.yaml:1:4: section.c: 'qqqqqqqq' is not one of ring, tree or direct");
}

// The ranged getters and the file header: what each accepts, what an absent key gives, and the
// message that says what would be valid.

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
  EXPECT_EQ(diagnostics_of("",
                           [](MapReader& m) {
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
            "f.yaml:3:5: section.c: expected an integer, got '1.5'\n"
            "f.yaml:4:8: section.d: expected a number, got 'x'\n"
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
