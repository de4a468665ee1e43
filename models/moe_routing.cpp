#include "models/moe_routing.hpp"

#include <numeric>
#include <stdexcept>
#include <string>

namespace scaleplan {

namespace {

double d(std::int64_t x) {
  return static_cast<double>(x);
}

// C(n − s, c) / C(n, c): the chance that c distinct items drawn evenly from n miss s given ones.
double draw_misses(std::int64_t n, std::int64_t s, std::int64_t c) {
  double p = 1;
  for (std::int64_t i = 0; i < c; ++i) {
    if (n - s - i <= 0)
      return 0;
    p *= d(n - s - i) / d(n - i);
  }
  return p;
}

// The mean, over the equally likely choices of m of the values, of their product: the m-th
// elementary symmetric polynomial of the values over that of as many ones (C(n, m)), each built
// one value at a time.
double mean_product_of_choices(const std::vector<double>& values, std::int64_t m) {
  std::vector<double> of_values(static_cast<std::size_t>(m) + 1, 0.0), of_ones = of_values;
  of_values[0] = of_ones[0] = 1;
  for (double v : values) {
    for (std::size_t j = static_cast<std::size_t>(m); j >= 1; --j) {
      of_values[j] += of_values[j - 1] * v;
      of_ones[j] += of_ones[j - 1];
    }
  }
  return of_values.back() / of_ones.back();
}

void check(const ExpertRouting& r, const std::vector<std::int64_t>& held) {
  auto fail = [](const std::string& what) {
    throw std::invalid_argument("expert routing: " + what);
  };
  if (r.experts < 1 || r.top_k < 1 || r.top_k > r.experts)
    fail("needs 1 ≤ top_k ≤ experts");
  if (r.kind == ExpertRoutingKind::group_limited &&
      (r.router_groups < 1 || r.router_group_topk < 1 || r.router_group_topk > r.router_groups ||
       r.experts % r.router_groups != 0 || r.top_k % r.router_group_topk != 0 ||
       r.top_k / r.router_group_topk > r.experts / r.router_groups)) {
    fail(
        "group-limited routing needs router_groups dividing experts, router_group_topk dividing "
        "top_k and at most router_groups, and top_k / router_group_topk experts in a group");
  }
  std::vector<char> seen(static_cast<std::size_t>(r.experts), 0);
  for (std::int64_t e : held) {
    if (e < 0 || e >= r.experts || seen[static_cast<std::size_t>(e)])
      fail("held experts must be distinct indices below experts");
    seen[static_cast<std::size_t>(e)] = 1;
  }
}

}  // namespace

double expert_set_missed_probability(const ExpertRouting& r,
                                     const std::vector<std::int64_t>& held) {
  check(r, held);
  switch (r.kind) {
    case ExpertRoutingKind::uniform:
      return draw_misses(r.experts, static_cast<std::int64_t>(held.size()), r.top_k);
    case ExpertRoutingKind::group_limited: {
      const std::int64_t block = r.experts / r.router_groups;
      std::vector<std::int64_t> held_in(static_cast<std::size_t>(r.router_groups), 0);
      for (std::int64_t e : held)
        ++held_in[static_cast<std::size_t>(e / block)];
      std::vector<double> misses;
      for (std::int64_t s : held_in)
        misses.push_back(draw_misses(block, s, r.top_k / r.router_group_topk));
      return mean_product_of_choices(misses, r.router_group_topk);
    }
    case ExpertRoutingKind::round_robin: {
      // Token i starts at top_k·i mod experts, which repeats after experts / gcd(top_k, experts).
      const std::int64_t period = r.experts / std::gcd(r.top_k, r.experts);
      std::vector<char> is_held(static_cast<std::size_t>(r.experts), 0);
      for (std::int64_t e : held)
        is_held[static_cast<std::size_t>(e)] = 1;
      std::int64_t missed = 0;
      for (std::int64_t i = 0; i < period; ++i) {
        bool hit = false;
        for (std::int64_t j = 0; j < r.top_k && !hit; ++j)
          hit = is_held[static_cast<std::size_t>((r.top_k * i + j) % r.experts)] != 0;
        missed += hit ? 0 : 1;
      }
      return d(missed) / d(period);
    }
  }
  return 1;
}

}  // namespace scaleplan
