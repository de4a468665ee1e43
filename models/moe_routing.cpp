#include "models/moe_routing.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

namespace scaleplan {

namespace {

double d(std::int64_t x) {
  return static_cast<double>(x);
}

std::int64_t d_size(const std::vector<double>& v) {
  return static_cast<std::int64_t>(v.size());
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

// ln C(n, k).
double log_choose(std::int64_t n, std::int64_t k) {
  return std::lgamma(d(n) + 1) - std::lgamma(d(k) + 1) - std::lgamma(d(n - k) + 1);
}

// The mean, over the equally likely choices of m of n values, of their product, where all but
// `values` are 1: choosing j of `values` (the j-th elementary symmetric polynomial of them, built
// one value at a time) and m − j of the n − |values| ones, over C(n, m) choices. O(|values| · m).
double mean_product_of_choices(const std::vector<double>& values, std::int64_t n, std::int64_t m) {
  const auto most = static_cast<std::size_t>(std::min<std::int64_t>(m, d_size(values)));
  std::vector<double> e(most + 1, 0.0);
  e[0] = 1;
  for (double v : values) {
    for (std::size_t j = most; j >= 1; --j)
      e[j] += e[j - 1] * v;
  }
  const auto ones = n - static_cast<std::int64_t>(values.size());
  double mean = 0;
  for (std::size_t j = 0; j <= most; ++j) {
    const auto rest = m - static_cast<std::int64_t>(j);
    if (rest <= ones)
      mean += e[j] * std::exp(log_choose(ones, rest) - log_choose(n, m));
  }
  return mean;
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
  std::vector<std::int64_t> sorted = held;
  std::sort(sorted.begin(), sorted.end());
  if (!sorted.empty() && (sorted.front() < 0 || sorted.back() >= r.experts ||
                          std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()))
    fail("held experts must be distinct indices below experts");
}

}  // namespace

double expert_set_missed_probability(const ExpertRouting& r,
                                     const std::vector<std::int64_t>& held) {
  check(r, held);
  if (held.empty())
    return 1;
  switch (r.kind) {
    case ExpertRoutingKind::uniform:
      return draw_misses(r.experts, static_cast<std::int64_t>(held.size()), r.top_k);
    case ExpertRoutingKind::group_limited: {
      // Only the blocks that hold some of `held` can be missed; the others give 1.
      const std::int64_t block = r.experts / r.router_groups;
      std::map<std::int64_t, std::int64_t> held_in;
      for (std::int64_t e : held)
        ++held_in[e / block];
      std::vector<double> misses;
      for (const auto& [b, s] : held_in)
        misses.push_back(draw_misses(block, s, r.top_k / r.router_group_topk));
      return mean_product_of_choices(misses, r.router_groups, r.router_group_topk);
    }
    case ExpertRoutingKind::round_robin: {
      // Token i takes the top_k experts from top_k·i mod experts on, which repeats after experts
      // / gcd(top_k, experts) tokens; with `before[e]` the held experts below e, a token misses
      // when its range (wrapping past the last expert) holds none.
      const std::int64_t period = r.experts / std::gcd(r.top_k, r.experts);
      std::vector<std::int64_t> before(static_cast<std::size_t>(r.experts) + 1, 0);
      for (std::int64_t e : held)
        before[static_cast<std::size_t>(e) + 1] = 1;
      for (std::size_t e = 1; e < before.size(); ++e)
        before[e] += before[e - 1];
      auto held_below = [&](std::int64_t e) { return before[static_cast<std::size_t>(e)]; };
      std::int64_t missed = 0;
      for (std::int64_t i = 0; i < period; ++i) {
        const std::int64_t first = r.top_k * i % r.experts;
        const std::int64_t end = first + r.top_k;
        const std::int64_t hits = end <= r.experts ? held_below(end) - held_below(first)
                                                   : held_below(r.experts) - held_below(first) +
                                                         held_below(end - r.experts);
        missed += hits == 0 ? 1 : 0;
      }
      return d(missed) / d(period);
    }
  }
  return 1;
}

}  // namespace scaleplan
