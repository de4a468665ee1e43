#include "hardware/input/yaml_reader.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(Input, ClosestMatchFindsTypos) {
  EXPECT_EQ(closest_match("nodse", {"nodes", "devices_per_node"}), "nodes");
  EXPECT_EQ(closest_match("zzzzzz", {"nodes", "devices_per_node"}), std::nullopt);
}

TEST(Input, SyntaxErrorNamesLine) {
  try {
    load_yaml_string("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].where.file, "bad.yaml");
    EXPECT_GE(e.diagnostics()[0].where.line, 2);
    EXPECT_NE(std::string(e.what()).find("malformed YAML"), std::string::npos);
  }
}

TEST(Input, UnknownKeyGetsSuggestion) {
  const YAML::Node node = load_yaml_string("nodes: 2\nnodse: 3\n", "f.yaml");
  Diagnostics diagnostics("f.yaml");
  MapReader map(node, "cluster", diagnostics);
  EXPECT_EQ(map.integer("nodes"), 2);
  map.finish();
  try {
    diagnostics.throw_if_any();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "f.yaml:2:1: cluster.nodse: unknown key; did you mean 'nodes'?");
  }
}

TEST(Input, TypeErrorsAreReportedNotThrown) {
  const YAML::Node node = load_yaml_string("tp: eight\npp: 2.5\nx: .nan\n", "f.yaml");
  Diagnostics diagnostics("f.yaml");
  MapReader map(node, "parallelism", diagnostics);
  EXPECT_EQ(map.integer("tp"), std::nullopt);
  EXPECT_EQ(map.integer("pp"), std::nullopt);
  EXPECT_EQ(map.number("x"), std::nullopt);
  map.finish();
  try {
    diagnostics.throw_if_any();
    FAIL();
  } catch (const InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 3u);
    EXPECT_EQ(e.diagnostics()[0].format(),
              "f.yaml:1:5: parallelism.tp: expected an integer, got 'eight'");
    EXPECT_EQ(e.diagnostics()[1].where.line, 2);
    EXPECT_NE(e.diagnostics()[2].message.find("finite"), std::string::npos);
  }
}

TEST(Input, MissingFileIsAnInputError) {
  EXPECT_THROW(read_input_file("/nonexistent/scenario.yaml"), InputError);
}

}  // namespace
}  // namespace scaleplan
