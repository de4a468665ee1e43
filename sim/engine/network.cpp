#include "sim/engine/network.hpp"

#include <algorithm>
#include <cmath>

#include "sim/engine/maxmin.hpp"

namespace scaleplan {

namespace {
constexpr std::uint64_t wakeup_payload = 0;
constexpr std::uint64_t immediate_payload = 1;
}  // namespace

Network::Network(Engine& engine, const Topology& topology)
    : engine_(&engine),
      topology_(&topology),
      flows_on_link_(topology.link_count()),
      link_bytes_(topology.link_count(), 0.0),
      link_mark_(topology.link_count(), 0),
      local_link_(topology.link_count(), 0) {}

void Network::set_link_rate_observer(LinkRateObserver* observer) {
  link_rate_observer_ = observer;
  link_rate_.assign(observer ? topology_->link_count() : 0, 0.0);
}

void Network::start_flow(int src_device, int dst_device, double bytes, FlowObserver* observer,
                         std::uint64_t token) {
  const FlowStart start{src_device, dst_device, bytes, token};
  start_flows(std::span(&start, 1), observer);
}

void Network::start_flows(std::span<const FlowStart> flows, FlowObserver* observer) {
  started_flows_.clear();
  for (const FlowStart& start : flows) {
    ++flows_started_;
    if (start.src_device == start.dst_device || start.bytes <= 0) {
      if (immediate_.empty())
        engine_->schedule_after(0, this, immediate_payload);
      immediate_.emplace_back(observer, start.token);
      continue;
    }
    started_flows_.push_back(add_flow(start, observer));
  }
  if (started_flows_.empty())
    return;
  begin_reshare();
  for (const std::uint32_t index : started_flows_) {
    for (const LinkId l : *flows_[index].links)
      reshare_from(l);
  }
  schedule_wakeup();
}

// A new active flow, on its links, at no rate until the next reshare.
std::uint32_t Network::add_flow(const FlowStart& start, FlowObserver* observer) {
  std::uint32_t index;
  if (!free_flows_.empty()) {
    index = free_flows_.back();
    free_flows_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(flows_.size());
    flows_.emplace_back();
    flow_mark_.push_back(0);
  }
  Flow& flow = flows_[index];
  flow.links = &topology_->route(start.src_device, start.dst_device);
  flow.remaining_bytes = start.bytes;
  flow.rate_bytes_per_s = 0;
  flow.last_update = engine_->now();
  flow.observer = observer;
  flow.token = start.token;
  flow.active = true;
  ++flow.generation;
  ++active_count_;
  for (LinkId l : *flow.links)
    flows_on_link_[l].push_back(index);
  return index;
}

void Network::settle(Flow& flow) {
  const SimTime now = engine_->now();
  if (now == flow.last_update)
    return;
  const double moved =
      std::min(flow.remaining_bytes, flow.rate_bytes_per_s * to_seconds(now - flow.last_update));
  flow.remaining_bytes -= moved;
  for (LinkId l : *flow.links)
    link_bytes_[l] += moved;
  flow.last_update = now;
}

void Network::begin_reshare() {
  ++reshares_;
  ++mark_;
}

// Each connected component of flows and links is solved on its own: the solver's rounds scan
// every link it is given, so solving independent components together would cost their product,
// and the rates are the same bit for bit either way (so is the order the components come in).
void Network::reshare_from(LinkId link) {
  if (link_mark_[link] == mark_)
    return;
  if (flows_on_link_[link].empty()) {
    // The link lost its last flow: a component of its own, with nothing to solve.
    link_mark_[link] = mark_;
    if (link_rate_observer_) {
      component_links_.assign(1, link);
      report_link_rates();
    }
    return;
  }
  collect_component(link);
  solve_component();
}

// The flows and links reachable from `start` through shared links, each sorted, so that the
// solver's tie-breaking never depends on discovery order.
void Network::collect_component(LinkId start) {
  component_flows_.clear();
  component_links_.clear();
  stack_.assign(1, start);
  link_mark_[start] = mark_;
  while (!stack_.empty()) {
    const LinkId l = stack_.back();
    stack_.pop_back();
    component_links_.push_back(l);
    for (std::uint32_t f : flows_on_link_[l]) {
      if (flow_mark_[f] == mark_)
        continue;
      flow_mark_[f] = mark_;
      component_flows_.push_back(f);
      for (LinkId other : *flows_[f].links) {
        if (link_mark_[other] != mark_) {
          link_mark_[other] = mark_;
          stack_.push_back(other);
        }
      }
    }
  }
  std::sort(component_flows_.begin(), component_flows_.end());
  std::sort(component_links_.begin(), component_links_.end());
}

void Network::solve_component() {
  capacity_.clear();
  for (LinkId l : component_links_) {
    local_link_[l] = static_cast<std::uint32_t>(capacity_.size());
    capacity_.push_back(topology_->link(l).bandwidth_bytes_per_s);
  }
  flow_begin_.assign(1, 0);
  flow_links_.clear();
  for (const std::uint32_t f : component_flows_) {
    for (LinkId l : *flows_[f].links)
      flow_links_.push_back(local_link_[l]);
    flow_begin_.push_back(static_cast<std::uint32_t>(flow_links_.size()));
  }
  const std::vector<double>& rates = solver_.solve(capacity_, flow_begin_, flow_links_);
  const SimTime now = engine_->now();
  for (std::size_t i = 0; i < component_flows_.size(); ++i) {
    const std::uint32_t index = component_flows_[i];
    Flow& flow = flows_[index];
    settle(flow);
    if (flow.rate_bytes_per_s == rates[i] && flow.finish > now)
      continue;
    flow.rate_bytes_per_s = rates[i];
    ++flow.generation;
    const double seconds = flow.remaining_bytes / flow.rate_bytes_per_s;
    flow.finish = now + to_sim_time(seconds, TimeOverflow::Cause::communication);
    due_.push({flow.finish, index, flow.generation});
  }
  if (link_rate_observer_)
    report_link_rates();
}

// The component's links, each at the sum of its flows' new rates, reported where that changed.
void Network::report_link_rates() {
  const SimTime now = engine_->now();
  for (LinkId l : component_links_) {
    double rate = 0;
    for (std::uint32_t f : flows_on_link_[l])
      rate += flows_[f].rate_bytes_per_s;
    if (rate != link_rate_[l]) {
      link_rate_[l] = rate;
      link_rate_observer_->on_link_rate(l, now, rate);
    }
  }
}

void Network::schedule_wakeup() {
  while (!due_.empty()) {
    const Due& top = due_.top();
    const Flow& flow = flows_[top.flow];
    if (flow.active && flow.generation == top.generation)
      break;
    due_.pop();
  }
  if (due_.empty())
    return;
  const SimTime next = due_.top().time;
  if (scheduled_wakeup_ >= engine_->now() && scheduled_wakeup_ <= next)
    return;
  scheduled_wakeup_ = next;
  engine_->schedule_at(next, this, wakeup_payload);
}

void Network::finish_flow(std::uint32_t index) {
  Flow& flow = flows_[index];
  settle(flow);
  flow.remaining_bytes = 0;
  flow.active = false;
  ++flow.generation;
  --active_count_;
  for (LinkId l : *flow.links) {
    auto& on_link = flows_on_link_[l];
    on_link.erase(std::find(on_link.begin(), on_link.end(), index));
  }
  free_flows_.push_back(index);
}

void Network::on_event(std::uint64_t payload) {
  if (payload == immediate_payload) {
    auto done = std::move(immediate_);
    immediate_.clear();
    for (auto [observer, token] : done)
      observer->on_flow_done(token);
    return;
  }
  const SimTime now = engine_->now();
  if (now != scheduled_wakeup_)
    return;  // superseded by an earlier wakeup
  scheduled_wakeup_ = -1;
  std::vector<std::pair<FlowObserver*, std::uint64_t>> done;
  std::vector<LinkId> touched;
  while (!due_.empty() && due_.top().time <= now) {
    const Due top = due_.top();
    due_.pop();
    Flow& flow = flows_[top.flow];
    if (!flow.active || flow.generation != top.generation)
      continue;
    done.emplace_back(flow.observer, flow.token);
    touched.insert(touched.end(), flow.links->begin(), flow.links->end());
    finish_flow(top.flow);
  }
  if (!touched.empty()) {
    begin_reshare();
    for (const LinkId l : touched)
      reshare_from(l);
  }
  schedule_wakeup();
  for (auto [observer, token] : done)
    observer->on_flow_done(token);
}

}  // namespace scaleplan
