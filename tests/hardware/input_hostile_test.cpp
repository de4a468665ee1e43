// Hostile YAML for the reading layer (hardware/input): files small enough to pass the size limit
// that would make yaml-cpp build billions of nodes or recurse without end, numbers that YAML 1.1
// and 1.2 read differently, keys that yaml-cpp does not support, and terminal escapes in what is
// printed. Each ends in an InputError naming the place, before any large allocation.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "hardware/input/checked_math.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "tests/support/input_errors.hpp"

namespace scaleplan {
namespace {

using test::message_of;

std::string load_error(const std::string& text) {
  return message_of([&] { load_yaml_string(text, "f.yaml"); });
}

// The diagnostics of reading the top-level mapping with `read`.
std::string read_error(const std::string& text, const std::function<void(MapReader&)>& read) {
  return test::diagnostics_of(text, read, "");
}

TEST(InputHostile, ManyNodesAreRefusedBeforeYamlCppBuildsThem) {
  // A list of 4,096 values, then a list of 1,024 aliases of it: 1 + (1 + 4,096) + 1 + 1,024 ·
  // 4,097 = 4,199,427 values, lists and maps, past the 4,194,304 allowed (about 1.9 GB as
  // yaml-cpp nodes, once a reader expands them). The count is checked as the file is scanned,
  // before yaml-cpp builds a node.
  std::string text = "a: &a [";
  for (int i = 0; i < 4096; ++i)
    text += "0,";
  text += "0]\nb: [";
  for (int i = 0; i < 1024; ++i)
    text += (i ? ",*a" : "*a");
  text += "]\n";
  const std::string e = load_error(text);
  EXPECT_NE(e.find("the file holds more than 4194304 YAML values, lists and maps (an alias "
                   "counting as what it repeats); yaml-cpp takes about 460 bytes per node to "
                   "parse, so inputs are limited to 4194304; split the input"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.rfind("f.yaml:2:", 0), 0u) << e;
}

TEST(InputHostile, AliasesCountAsWhatTheyRepeat) {
  // "Billion laughs": each level repeats the one before ten times; nine levels name 10^9 values
  // in a few hundred bytes, which a reader that expands aliases would visit one by one.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 9; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int k = 0; k < 10; ++k)
      text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  const std::string e = load_error(text);
  EXPECT_NE(e.find("the file holds more than 4194304 YAML values"), std::string::npos) << e;
  // Ten aliases of a ten-item list are 121 values: well within the limit.
  EXPECT_NO_THROW(load_yaml_string("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: [*a, *a]\n", "f"));
}

TEST(InputHostile, DeepNestingIsRefusedWithItsPlace) {
  // yaml-cpp's own guard stops near depth 500 with "bad file"; 65 levels already exceed what any
  // scaleplan format nests.
  const std::string text = std::string(65, '[') + std::string(65, ']');
  EXPECT_EQ(load_error(text),
            "f.yaml:1:65: lists and maps nested more than 64 deep; scaleplan's formats nest a few "
            "levels");
  EXPECT_NO_THROW(load_yaml_string(std::string(64, '[') + std::string(64, ']'), "f.yaml"));
  // 100,000 levels: still the same message, and no recursion that overflows the stack.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(load_error(deep).find("nested more than 64 deep"), std::string::npos);
}

TEST(InputHostile, ASecondDocumentIsAnErrorNotDropped) {
  // YAML::Load reads the first document and drops the rest without a word.
  EXPECT_EQ(load_error("tp: 2\n---\ntp: 4\n"),
            "f.yaml:2:1: a second YAML document starts here; scaleplan reads one document per "
            "file, so the rest would be ignored");
  EXPECT_NO_THROW(load_yaml_string("---\ntp: 2\n...\n", "f.yaml"));
}

TEST(InputHostile, LeadingZerosAndOtherBasesAreErrorsNeverOctal) {
  // YAML 1.1 reads 040 as 32, YAML 1.2 as 40: neither is taken.
  const auto integer = [](MapReader& m) { m.integer("n"); };
  EXPECT_EQ(read_error("n: 040\n", integer),
            "f.yaml:1:4: n: '040' has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 "
            "as decimal; write it without the zero");
  EXPECT_EQ(read_error("n: -007\n", integer),
            "f.yaml:1:4: n: '-007' has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 "
            "as decimal; write it without the zero");
  for (const char* other : {"0x1F", "0o17", "0b1", "1_000", "1e3", "12abc", "+"}) {
    EXPECT_EQ(read_error(std::string("n: ") + other + "\n", integer),
              std::string("f.yaml:1:4: n: expected an integer, got '") + other + "'")
        << other;
  }
  EXPECT_EQ(read_error("n: 9223372036854775808\n", integer),
            "f.yaml:1:4: n: 9223372036854775808 is beyond the range of a 64-bit integer");
  // Numbers: the same rule for the integer part; a zero before the point is fine.
  const auto number = [](MapReader& m) { m.number("x"); };
  EXPECT_EQ(read_error("x: 0.5\n", number), "");
  EXPECT_EQ(read_error("x: 0\n", number), "");
  EXPECT_EQ(read_error("x: .5e-3\n", number), "");
  EXPECT_NE(read_error("x: 01.5\n", number).find("'01.5' has a leading zero"), std::string::npos);
  for (const char* bad : {".inf", "-.Inf", ".nan", "NaN", "infinity"}) {
    EXPECT_EQ(read_error(std::string("x: ") + bad + "\n", number),
              std::string("f.yaml:1:4: x: expected a finite number, got '") + bad + "'")
        << bad;
  }
  EXPECT_EQ(read_error("x: 1e999\n", number),
            "f.yaml:1:4: x: expected a finite number, got '1e999'");
  // And in lists.
  EXPECT_EQ(read_error("l: [1, 010]\n", [](MapReader& m) { m.integers("l", 0, 100, 1, 4); }),
            "f.yaml:1:8: l: '010' has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 "
            "as decimal; write it without the zero");
}

TEST(InputHostile, MergeKeysAreNamedAsUnsupported) {
  // yaml-cpp reads `<<` as an ordinary key: it would be "unknown; did you mean ...".
  const std::string e = read_error("base: &b {tp: 2}\n<<: *b\ntp: 4\n", [](MapReader& m) {
    m.accept("base");
    m.integer("tp");
  });
  EXPECT_EQ(e, "f.yaml:2:1: <<: merge keys (<<) are not supported; write the keys out");
}

TEST(InputHostile, MessagesEscapeTerminalControls) {
  // ESC, BEL, DEL, a C1 control and the right-to-left override, as read from a file.
  EXPECT_EQ(printable_text("a\x1b]0;t\x07z\x7f\xc2\x9b\xe2\x80\xaeok\n"),
            "a\\x1B]0;t\\x07z\\x7F\\u009B\\u202Eok\n");
  EXPECT_EQ(printable_text("ünïcode stays"), "ünïcode stays");
  const std::string e = read_error("\"k\\e[2J\": 1\n", [](MapReader&) {});
  EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
  EXPECT_NE(e.find("k\\x1B[2J: unknown key"), std::string::npos) << e;
}

TEST(CheckedMath, ProductsAndNarrowingNeverWrap) {
  EXPECT_EQ(checked_product({1 << 20, 1 << 20}), std::int64_t{1} << 40);
  // 2^32 · 2^32 wraps to 0 in 64 bits.
  EXPECT_EQ(checked_product({std::int64_t{1} << 32, std::int64_t{1} << 32}), std::nullopt);
  EXPECT_EQ(saturating_product({std::int64_t{1} << 32, std::int64_t{1} << 32}),
            std::numeric_limits<std::int64_t>::max());
  // 4,294,967,304 = 2^32 + 8: static_cast<int> gives 8.
  EXPECT_EQ(narrow_to_int(4294967304), std::nullopt);
  EXPECT_EQ(narrow_to_int(8), 8);
  EXPECT_EQ(narrow_to_int(-1, 0, 10), std::nullopt);
}

}  // namespace
}  // namespace scaleplan
