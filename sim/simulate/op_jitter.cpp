#include "sim/simulate/op_jitter.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace scaleplan {

namespace {

// SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection of 64-bit words whose outputs
// pass BigCrush for consecutive inputs.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The top 53 bits as a double in [0, 1).
double unit(std::uint64_t x) {
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

}  // namespace

double op_jitter_factor(const OpJitter& jitter, int device, std::uint64_t op_index) {
  const std::uint64_t stream = mix(jitter.seed ^ mix(static_cast<std::uint64_t>(device)));
  const std::uint64_t a = mix(stream ^ mix(2 * op_index));
  const std::uint64_t b = mix(stream ^ mix(2 * op_index + 1));
  // u1 in (0, 1], so that its logarithm is finite.
  const double u1 = 1.0 - unit(a);
  const double u2 = unit(b);
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  switch (jitter.distribution) {
    case JitterDistribution::lognormal:
      return std::exp(jitter.sigma * z);
    case JitterDistribution::normal:
      return std::max(0.0, 1.0 + jitter.sigma * z);
  }
  return 1.0;
}

double op_jitter_mean(const OpJitter& jitter) {
  return jitter.distribution == JitterDistribution::lognormal
             ? std::exp(jitter.sigma * jitter.sigma / 2)
             : 1.0;
}

double op_jitter_stddev(const OpJitter& jitter) {
  if (jitter.distribution == JitterDistribution::normal)
    return jitter.sigma;
  const double e = std::exp(jitter.sigma * jitter.sigma);
  return std::sqrt((e - 1) * e);
}

}  // namespace scaleplan
