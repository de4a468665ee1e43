// Reading a sourced figure, {value, source}, from YAML: the one way catalogs and calibration
// profiles read hardware numbers, so that none is taken without its source.
#pragma once

#include <optional>
#include <string_view>

#include "hardware/device_spec.hpp"
#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {

// The physical range of every kind of figure an input gives (docs/reliability.md): wide enough
// for any device built or planned, narrow enough that no figure is absurd (a peak of 1e-300
// FLOP/s, an efficiency of 1000) and that times computed from them stay numbers. A time that
// still leaves the simulator's range is reported at the key that caused it.
namespace physical {
// Dense FLOP/s of one device: a microcontroller to 500× an H100's FP8.
inline constexpr NumberRange flops_per_s = NumberRange::closed(1e6, 1e18);
// Bandwidths of memories and links: 1 MB/s to 1 PB/s.
inline constexpr NumberRange bytes_per_s = NumberRange::closed(1e6, 1e15);
// A device's memory: 1 MiB to 1 PiB.
inline constexpr NumberRange memory_bytes = NumberRange::closed(1 << 20, 1125899906842624.0);
// Latencies and fixed costs (a link, a switch, a kernel launch, a collective's step): up to 1 s.
inline constexpr NumberRange latency_s = NumberRange::closed(0, 1);
// Efficiencies: achieved over peak, never above it; 0.1 % at least, below which a figure is
// a mistake rather than a measurement. (Efficiencies of single GEMM shapes, which a tiny shape
// makes very small, have their own range in the profile reader.)
inline constexpr NumberRange efficiency = NumberRange::closed(1e-3, 1);
// Power of one device: 0.1 W to 100 kW.
inline constexpr NumberRange power_w = NumberRange::closed(0.1, 1e5);
// Price of one device-hour: up to 10,000 USD.
inline constexpr NumberRange usd_per_hour = NumberRange::positive(1e4);
// Price of buying one device (with its share of the node): up to 10 million USD.
inline constexpr NumberRange usd_purchase = NumberRange::positive(1e7);
// Links a device's bandwidth is split over.
inline constexpr NumberRange link_count = NumberRange::closed(1, 1024);
// Processors a GEMM's tiles are spread over (SMs, CUs): up to a million.
inline constexpr NumberRange processor_count = NumberRange::closed(1, 1e6);
// A side of a GEMM tile, in elements.
inline constexpr NumberRange tile_side = NumberRange::closed(1, 4096);
// FLOPs of one GEMM: up to 1e21.
inline constexpr NumberRange gemm_flops = NumberRange::positive(1e21);
// Tokens of a sequence (keys an attention query attends over): up to 100 million.
inline constexpr NumberRange sequence_length = NumberRange::positive(1e8);
}  // namespace physical

// Reads `key` of `map` as {value: NUMBER, source: TEXT}. A bare number, an empty source or a
// value out of `range` is reported to the map's diagnostics and gives std::nullopt; a missing key
// is reported only when `required`.
std::optional<Figure> read_figure(MapReader& map, std::string_view key, bool required,
                                  NumberRange range);

}  // namespace scaleplan
