// What the compact plan format's reader and writer share (sim/plan/plan_io_compact*.cpp): the
// little-endian loads and stores, the section tags and the sizes of the fixed records. Internal to
// plan_io; the format itself is in docs/plan-format.md.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace scaleplan::compact_detail {

template <class T>
T byteswapped(T value) {
  if constexpr (sizeof(T) == 1) {
    return value;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(static_cast<std::uint16_t>(value)));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(static_cast<std::uint32_t>(value)));
  } else {
    return static_cast<T>(__builtin_bswap64(static_cast<std::uint64_t>(value)));
  }
}

// A little-endian integer at `p`.
template <class T>
T load(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  if constexpr (std::endian::native == std::endian::big)
    value = byteswapped(value);
  return value;
}

inline double load_f64(const char* p) {
  return std::bit_cast<double>(load<std::uint64_t>(p));
}

template <class T>
void store(char* p, T value) {
  if constexpr (std::endian::native == std::endian::big)
    value = byteswapped(value);
  std::memcpy(p, &value, sizeof value);
}

inline void store_f64(char* p, double value) {
  store(p, std::bit_cast<std::uint64_t>(value));
}

// Section tags, in file order.
constexpr std::string_view labels_tag = "LABL";
constexpr std::string_view blocks_tag = "BLKS";
constexpr std::string_view groups_tag = "GRPS";
constexpr std::string_view ranks_tag = "RNKS";
constexpr std::string_view end_tag = "END.";

constexpr std::size_t header_bytes = 24;        // magic, version, flags, replicas
constexpr std::size_t kernel_fixed_bytes = 52;  // after its name
constexpr std::size_t rank_fixed_bytes = 52;    // before its group map
// The fewest bytes an entry of each table can take, to refuse a count the file cannot hold.
constexpr std::size_t min_string_bytes = 4;
constexpr std::size_t min_block_bytes = 8;
constexpr std::size_t min_kernel_bytes = 4 + kernel_fixed_bytes;
constexpr std::size_t min_group_bytes = 8;
// Header flag: every group record ends with a u8 0 (no expert dispatch) or 1 and the dispatch's
// fixed record.
constexpr std::uint32_t expert_dispatch_flag = 1;
constexpr std::size_t expert_dispatch_bytes = 48;  // u8, u8, u16, u32, 4 x i64, f64
constexpr std::size_t min_rank_bytes = rank_fixed_bytes + 4;

}  // namespace scaleplan::compact_detail
