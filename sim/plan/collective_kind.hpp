// The collectives a plan's ops name. The plan needs only this; how each is expanded into
// transfers over a topology is sim/collective's business.
#pragma once

#include <string_view>

#include "hardware/input/enum_names.hpp"

namespace scaleplan {

enum class CollectiveKind { all_reduce, reduce_scatter, all_gather, all_to_all, broadcast };

inline constexpr EnumNames<CollectiveKind, 5> collective_kind_names{{{
    {CollectiveKind::all_reduce, "all-reduce"},
    {CollectiveKind::reduce_scatter, "reduce-scatter"},
    {CollectiveKind::all_gather, "all-gather"},
    {CollectiveKind::all_to_all, "all-to-all"},
    {CollectiveKind::broadcast, "broadcast"},
}}};

inline std::string_view to_string(CollectiveKind kind) {
  return collective_kind_names.name(kind);
}

}  // namespace scaleplan
