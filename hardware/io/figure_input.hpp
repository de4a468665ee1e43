// Reading a sourced figure, {value, source}, from YAML: the one way catalogs and calibration
// profiles read hardware numbers, so that none is taken without its source.
#pragma once

#include <optional>
#include <string_view>

#include "hardware/device_spec.hpp"
#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {

// Reads `key` of `map` as {value: NUMBER, source: TEXT}. A bare number, an empty source or a
// value out of `range` is reported to the map's diagnostics and gives std::nullopt; a missing key
// is reported only when `required`.
std::optional<Figure> read_figure(MapReader& map, std::string_view key, bool required,
                                  NumberRange range = NumberRange::positive());

}  // namespace scaleplan
