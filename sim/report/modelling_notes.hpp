// The notes a prediction's report gives of modelling choices a reader might not expect (what was
// padded, overlapped, balanced, left out).
#pragma once

#include <string>
#include <vector>

#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

std::vector<std::string> modelling_notes(const TrainingJob& job);

}  // namespace scaleplan
