// The compact plan file (docs/plan-format.md, "The compact format"): the same Plan as the YAML
// file, as little-endian binary records that stream. Labels, block, kernel and group names are
// written once, in tables; an op is a fixed 44-byte record followed by its dependencies; the ranks
// of a pipeline stage keep sharing one program (RankProgram::shares, group_map, peer_offset) rather
// than being written out as copies. A CRC-32 of the whole file closes it.
//
// Reading takes O(file) time and, besides the plan it builds, a fixed buffer (compact_read_buffer_
// bytes): no parse tree, no limit on the plan's size but that of the plan in memory (an op record
// of 44 bytes or more becomes an Op of about 80). Every count is checked against the bytes left
// before anything is sized by it, so a hostile count cannot allocate. The first problem found is
// thrown as an InputError naming the file, the key ("ranks[3].ops[17].stream"), the byte offset
// and what would be valid; a plan that reads is then checked by validate_plan, whose problems are
// placed at their record's byte the same way.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "sim/plan/plan.hpp"

namespace scaleplan {

inline constexpr std::uint32_t compact_plan_version = 1;
// The first 8 bytes of a compact plan: a byte that is not text, the name, and a CR LF that a
// text-mode copy would mangle (as PNG's signature does).
inline constexpr std::string_view compact_plan_magic{"\x89SPLAN\r\n", 8};
// The bytes of one op record before its dependencies (4 bytes each).
inline constexpr std::size_t compact_op_record_bytes = 44;
// Sizes in a plan (FLOPs of a kernel, bytes it moves or an op sends, memory a rank holds) are
// at most this, in either format: a zettaFLOP or a zettabyte, far beyond any step, small enough
// that a time computed from one stays a number.
inline constexpr double max_plan_quantity = 1e21;
// What the reader reads from its stream at once.
inline constexpr std::size_t compact_read_buffer_bytes = 1u << 20;

// Whether `first_bytes` (a file's first 8 bytes or more) begin a compact plan.
bool starts_as_compact_plan(std::string_view first_bytes);

// Writes `plan` in the compact format. Shared programs stay shared. Throws std::ios_base::failure
// only through `out`'s own exception mask; a caller checks `out`.
void write_plan_compact(const Plan& plan, std::ostream& out);

// Reads a compact plan from `in`, validated. `file_label` names it in errors; `size_bytes`, when
// known, lets a count be refused up front when the bytes left cannot hold it (otherwise the
// reader finds the end of the file where the count said more would be). Throws InputError.
Plan read_plan_compact(std::istream& in, const std::string& file_label,
                       std::optional<std::uint64_t> size_bytes = std::nullopt);
Plan parse_plan_compact(std::string_view bytes, const std::string& file_label);

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320: zlib's crc32 and Python's zlib.crc32) of
// `bytes`, continuing from `crc` (0 to start).
std::uint32_t plan_crc32(std::string_view bytes, std::uint32_t crc = 0);

}  // namespace scaleplan
