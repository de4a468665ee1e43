// One table per enum of the input formats: the enum's values and the names a user writes. The
// table drives to_string, parsing, the list of valid names in messages and the command line's
// choices, so that the four cannot drift apart.
//
//   inline constexpr EnumNames<Recompute, 3> recompute_names{{{
//       {Recompute::none, "none"},
//       {Recompute::selective, "selective"},
//       {Recompute::full, "full"},
//   }}};
//   std::string_view to_string(Recompute r) { return recompute_names.name(r); }
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scaleplan {

template <class Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

template <class Enum, std::size_t N>
class EnumNames {
 public:
  constexpr explicit EnumNames(std::array<EnumName<Enum>, N> entries) : entries_(entries) {}

  // The name of `value`. Every value of the enum has an entry; one that does not is a
  // programming error (std::logic_error), never input.
  constexpr std::string_view name(Enum value) const {
    for (const auto& entry : entries_) {
      if (entry.value == value)
        return entry.name;
    }
    throw std::logic_error("an enum value has no name in its table");
  }

  // The value named `text` exactly; nullopt for anything else.
  constexpr std::optional<Enum> parse(std::string_view text) const {
    for (const auto& entry : entries_) {
      if (entry.name == text)
        return entry.value;
    }
    return std::nullopt;
  }

  // The names in table order, for messages ("use a, b or c") and command-line choices.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(N);
    for (const auto& entry : entries_)
      out.emplace_back(entry.name);
    return out;
  }

  constexpr const std::array<EnumName<Enum>, N>& entries() const { return entries_; }

 private:
  std::array<EnumName<Enum>, N> entries_;
};

}  // namespace scaleplan
