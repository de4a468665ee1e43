// Integer arithmetic on values read from input, which must never wrap: a product of replica
// counts that wraps to zero and then divides is a crash, one that wraps to a small number a
// wrong answer (docs/reliability.md).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>

namespace scaleplan {

// a·b·..., or std::nullopt when the product does not fit an int64.
inline std::optional<std::int64_t> checked_product(std::initializer_list<std::int64_t> factors) {
  std::int64_t product = 1;
  for (std::int64_t f : factors) {
    if (__builtin_mul_overflow(product, f, &product))
      return std::nullopt;
  }
  return product;
}

// a·b·..., or INT64_MAX when that would overflow: for values that are only compared with a limit
// and printed.
inline std::int64_t saturating_product(std::initializer_list<std::int64_t> factors) {
  return checked_product(factors).value_or(std::numeric_limits<std::int64_t>::max());
}

// `value` as an int when it is from `low` to `high` (within the range of int), else std::nullopt:
// the one way an input's 64-bit integer becomes an int, so that 2^32 + 8 never becomes 8.
inline std::optional<int> narrow_to_int(std::int64_t value,
                                        std::int64_t low = std::numeric_limits<int>::min(),
                                        std::int64_t high = std::numeric_limits<int>::max()) {
  if (value < low || value > high || value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max())
    return std::nullopt;
  return static_cast<int>(value);
}

}  // namespace scaleplan
