// Flows over the cluster network. A flow carries bytes from one device to another along its
// route; concurrent flows share every link max-min fairly, and rates are recomputed whenever
// flows start or end, only among the flows that share links with them (transitively), one
// connected component at a time. Flows that start together (a phase of a collective) cost one
// recomputation, not one each.
#pragma once

#include <cstdint>
#include <queue>
#include <span>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/engine/engine.hpp"
#include "sim/engine/maxmin.hpp"

namespace scaleplan {

class FlowObserver {
 public:
  virtual void on_flow_done(std::uint64_t token) = 0;

 protected:
  ~FlowObserver() = default;
};

// Told each time the total rate of a link changes: when the flows crossing it are reshared, start
// or end. Between two calls the link carries `bytes_per_s` steadily.
class LinkRateObserver {
 public:
  virtual void on_link_rate(LinkId link, SimTime time, double bytes_per_s) = 0;

 protected:
  ~LinkRateObserver() = default;
};

class Network final : public EventHandler {
 public:
  Network(Engine& engine, const Topology& topology);

  // Starts moving `bytes` from one device to another now. When the last byte arrives,
  // observer->on_flow_done(token) is called. A flow between a device and itself, or of zero
  // bytes, completes at once (still through an event, so callers never re-enter).
  void start_flow(int src_device, int dst_device, double bytes, FlowObserver* observer,
                  std::uint64_t token);

  struct FlowStart {
    int src_device = 0;
    int dst_device = 0;
    double bytes = 0;
    std::uint64_t token = 0;
  };
  // Starts all of `flows` now, each as start_flow would, with one recomputation of the rates
  // for them all: one reshare of the components they touch instead of one per flow, and the
  // same rates as starting them one by one (max-min sharing has one solution, and the solver
  // takes each component's links in the same order either way).
  void start_flows(std::span<const FlowStart> flows, FlowObserver* observer);

  // Reports link rate changes from now on; nullptr stops. Without an observer the network keeps
  // no per-link rates at all.
  void set_link_rate_observer(LinkRateObserver* observer);

  const Topology& topology() const { return *topology_; }
  std::size_t active_flows() const { return active_count_; }
  std::uint64_t flows_started() const { return flows_started_; }
  // Times the rates were recomputed (each solves the components its flows touch).
  std::uint64_t reshares() const { return reshares_; }
  // Bytes each link has carried so far (index: LinkId).
  const std::vector<double>& link_bytes() const { return link_bytes_; }

  void on_event(std::uint64_t payload) override;

 private:
  struct Flow {
    const std::vector<LinkId>* links = nullptr;
    double remaining_bytes = 0;
    double rate_bytes_per_s = 0;
    SimTime last_update = 0;
    SimTime finish = 0;
    FlowObserver* observer = nullptr;
    std::uint64_t token = 0;
    std::uint32_t generation = 0;
    bool active = false;
  };
  struct Due {
    SimTime time;
    std::uint32_t flow;
    std::uint32_t generation;
    bool operator>(const Due& other) const {
      return time != other.time ? time > other.time : flow > other.flow;
    }
  };

  std::uint32_t add_flow(const FlowStart& start, FlowObserver* observer);
  void settle(Flow& flow);
  // A recomputation of the rates: begin_reshare(), then reshare_from() each link whose flows
  // changed; each component is solved once.
  void begin_reshare();
  void reshare_from(LinkId link);
  void collect_component(LinkId start);
  void solve_component();
  void schedule_wakeup();
  void finish_flow(std::uint32_t index);
  void report_link_rates();

  Engine* engine_;
  const Topology* topology_;
  std::vector<Flow> flows_;
  std::vector<std::uint32_t> free_flows_;
  std::vector<std::vector<std::uint32_t>> flows_on_link_;
  std::vector<double> link_bytes_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  SimTime scheduled_wakeup_ = -1;
  std::size_t active_count_ = 0;
  std::uint64_t flows_started_ = 0;
  std::uint64_t reshares_ = 0;
  // Flows that complete without crossing a link, delivered at the next event.
  std::vector<std::pair<FlowObserver*, std::uint64_t>> immediate_;

  // Scratch space for recomputations, kept to avoid reallocating on every flow event.
  std::vector<std::uint32_t> started_flows_;  // start_flows(): the flows it added
  std::vector<std::uint32_t> component_flows_;
  std::vector<LinkId> component_links_;
  std::vector<std::uint32_t> link_mark_;
  std::vector<std::uint32_t> local_link_;  // a component link's index in the solver's arrays
  std::vector<LinkId> stack_;
  std::vector<double> capacity_;
  std::vector<std::uint32_t> flow_begin_;
  std::vector<std::uint32_t> flow_links_;
  MaxMinSolver solver_;
  std::vector<std::uint32_t> flow_mark_;
  std::uint32_t mark_ = 0;

  LinkRateObserver* link_rate_observer_ = nullptr;
  std::vector<double> link_rate_;  // last rate reported per link (with an observer only)
};

}  // namespace scaleplan
