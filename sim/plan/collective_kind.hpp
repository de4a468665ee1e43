// The collectives a plan's ops name. The plan needs only this; how each is expanded into
// transfers over a topology is sim/collective's business.
#pragma once

#include <string_view>

namespace scaleplan {

enum class CollectiveKind { all_reduce, reduce_scatter, all_gather, all_to_all, broadcast };

std::string_view to_string(CollectiveKind kind);

}  // namespace scaleplan
