#include "hardware/io/figure_input.hpp"

namespace scaleplan {

std::optional<Figure> read_figure(MapReader& map, std::string_view key, bool required,
                                  NumberRange range) {
  if (!map.has(key)) {
    map.accept(key);
    if (required)
      map.require(key);
    return std::nullopt;
  }
  if (!map.node()[std::string(key)].IsMap()) {
    map.accept(key);
    map.error(key, "expected {value: NUMBER, source: \"where the figure comes from\"}");
    return std::nullopt;
  }
  MapReader figure = map.child(key);
  auto value = figure.number("value", range, required_key);
  auto source = figure.string("source");
  if (!figure.has("source"))
    figure.require("source");
  figure.finish();
  if (!value || !source)
    return std::nullopt;
  if (source->empty()) {
    figure.error("source", "must name where the figure comes from");
    return std::nullopt;
  }
  return Figure{*value, *source};
}

}  // namespace scaleplan
