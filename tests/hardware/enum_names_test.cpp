// One table per enum: names, parsing and the list of names agree, and a value missing from its
// table is a programming error rather than a silent "?".
#include <gtest/gtest.h>

#include "hardware/cluster.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan {
namespace {

enum class Colour { red, green, blue };

constexpr EnumNames<Colour, 2> partial_names{{{
    {Colour::red, "red"},
    {Colour::green, "green"},
}}};

TEST(EnumNames, NameAndParseAreInverse) {
  for (const auto& [fabric, name] : node_fabric_names.entries()) {
    EXPECT_EQ(to_string(fabric), name);
    EXPECT_EQ(node_fabric_names.parse(name), fabric);
  }
  EXPECT_EQ(node_fabric_names.parse("nvlink-mesh"), NodeFabric::nvlink_mesh);
}

TEST(EnumNames, ParseIsExact) {
  EXPECT_EQ(node_fabric_names.parse("NVSwitch"), std::nullopt);
  EXPECT_EQ(node_fabric_names.parse("nvswitch "), std::nullopt);
  EXPECT_EQ(node_fabric_names.parse(""), std::nullopt);
}

TEST(EnumNames, NamesKeepTableOrder) {
  EXPECT_EQ(node_fabric_names.names(),
            (std::vector<std::string>{"nvswitch", "nvlink-mesh", "pcie", "ici"}));
}

TEST(EnumNames, WorksAtCompileTime) {
  static_assert(partial_names.name(Colour::green) == "green");
  static_assert(partial_names.parse("red") == Colour::red);
  static_assert(!partial_names.parse("blue"));
}

TEST(EnumNames, AValueWithoutANameIsALogicError) {
  EXPECT_THROW((void)partial_names.name(Colour::blue), std::logic_error);
}

}  // namespace
}  // namespace scaleplan
