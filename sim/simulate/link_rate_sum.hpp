// The rate of each link as observers see it: the flows' rate, which the network reports, plus
// the fast path's transactions, each spreading its bytes on a link steadily over its duration.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/engine/network.hpp"
#include "sim/simulate/simulation_observer.hpp"

namespace scaleplan {

class LinkRateSum final : public LinkRateObserver {
 public:
  LinkRateSum(std::size_t link_count, const ObserverList& observers)
      : observers_(observers),
        flow_rate_(link_count, 0.0),
        fast_rate_(link_count, 0.0),
        fast_active_(link_count, 0) {}

  // The network's flows on `link` now run at `bytes_per_s` in all.
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override {
    flow_rate_[link] = bytes_per_s;
    observers_.link_rate(link, time, bytes_per_s + fast_rate_[link]);
  }
  // A fast-path transaction starts putting `bytes_per_s` on `link` ...
  void add_fast(LinkId link, SimTime time, double bytes_per_s) {
    ++fast_active_[link];
    fast_rate_[link] += bytes_per_s;
    observers_.link_rate(link, time, flow_rate_[link] + fast_rate_[link]);
  }
  // ... and stops. The last one leaves exactly nothing, whatever rounding the sums left.
  void remove_fast(LinkId link, SimTime time, double bytes_per_s) {
    fast_rate_[link] = --fast_active_[link] ? fast_rate_[link] - bytes_per_s : 0.0;
    observers_.link_rate(link, time, flow_rate_[link] + fast_rate_[link]);
  }

 private:
  const ObserverList& observers_;
  std::vector<double> flow_rate_;
  std::vector<double> fast_rate_;
  std::vector<std::uint32_t> fast_active_;
};

}  // namespace scaleplan
