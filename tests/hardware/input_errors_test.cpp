// Every error the YAML reading layer can give a user, with its message: what a user sees when a
// file is missing, too big, not UTF-8, not YAML, or has a key of the wrong type.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "scaleplan-input-errors-test";
  std::filesystem::create_directories(dir);
  return dir;
}

// Reads `text` as the mapping at `path` and returns every diagnostic the reader gives after
// `read` has asked for its keys.
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

TEST(InputErrors, TopLevelMustBeAMapping) {
  const YAML::Node node = load_yaml_string("- 1\n- 2\n", "f.yaml");
  Diagnostics diagnostics("f.yaml");
  MapReader map(node, "", diagnostics);
  EXPECT_EQ(message_of([&] { diagnostics.throw_if_any(); }),
            "f.yaml:1:1: <top level>: expected a mapping of keys to values");
}

TEST(InputErrors, EveryTypeErrorNamesTheKey) {
  const std::string e = diagnostics_of(
      "n: [1]\nx: .inf\nb: perhaps\ns: {a: 1}\nl: 3\nc: ringg\nm: 5\nr: 1\n", [](MapReader& m) {
        (void)m.integer("n");
        (void)m.number("x");
        (void)m.boolean("b");
        (void)m.string("s");
        (void)m.sequence("l");
        (void)m.choice("c", {"ring", "tree"});
        (void)m.child("m");
        (void)m.require("absent");
        (void)m.number("r");
      });
  EXPECT_EQ(e,
            "f.yaml:1:4: section.n: expected an integer\n"
            "f.yaml:2:4: section.x: expected a finite number, got '.inf'\n"
            "f.yaml:3:4: section.b: expected true or false, got 'perhaps'\n"
            "f.yaml:4:4: section.s: expected a string\n"
            "f.yaml:5:4: section.l: expected a list\n"
            "f.yaml:6:4: section.c: 'ringg' is not one of ring or tree; did you mean 'ring'?\n"
            "f.yaml:7:4: section.m: expected a mapping of keys to values\n"
            "f.yaml:1:1: section.absent: required key is missing");
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

}  // namespace
}  // namespace scaleplan
