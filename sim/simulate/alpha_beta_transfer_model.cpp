#include "sim/simulate/alpha_beta_transfer_model.hpp"

#include <algorithm>

namespace scaleplan {

namespace {

// An event's payload: the end of a latency part, or the end of a bandwidth part as scheduled at
// one generation of the transaction's rate (a later rate makes it stale).
constexpr std::uint64_t latency_end = std::uint64_t{1} << 63;
constexpr std::uint32_t generation_mask = 0x7fffffff;
// A port's demand above this is more than it holds (above 1 by more than rounding).
constexpr double contended_demand = 1.0 + 1e-9;

std::uint64_t bandwidth_end(std::uint32_t transaction, std::uint32_t generation) {
  return (static_cast<std::uint64_t>(generation & generation_mask) << 32) | transaction;
}

}  // namespace

AlphaBetaTransferModel::AlphaBetaTransferModel(Engine& engine, const Topology& topology,
                                               const CommRoutes& routes,
                                               double collective_step_latency_s,
                                               LinkRateSum* link_rates,
                                               TransactionDoneHandler& done)
    : engine_(engine),
      topology_(topology),
      routes_(routes),
      step_latency_s_(collective_step_latency_s),
      link_rates_(link_rates),
      done_(done),
      link_bytes_(topology.link_count(), 0.0) {}

void AlphaBetaTransferModel::start(std::uint32_t transaction, std::uint32_t route) {
  ++transactions_;
  const Cost& cost = cost_of(route);
  for (const auto& [link, bytes] : cost.link_bytes)
    link_bytes_[link] += bytes;
  if (transaction >= running_.size()) {
    running_.resize(transaction + 1);
    member_of_.resize(transaction + 1, 0);
  }
  if (cost.bandwidth_s <= 0 || cost.port_share.empty()) {
    engine_.schedule_after(to_sim_time(cost.latency_s, TimeOverflow::Cause::communication), this,
                           latency_end | transaction);
    return;
  }
  Running& r = running_[transaction];
  r.route = route;
  r.remaining_s = cost.bandwidth_s;
  r.rate = 1;
  r.since = engine_.now();
  ++r.generation;
  r.active = true;
  if (link_rates_)
    show_rates(r, 1, true);
  bool contended = false;
  join_ports(transaction, cost);
  for (const auto& [port, share] : cost.port_share)
    contended = contended || is_contended_[port];
  if (contended) {
    // Its rate, and so its end, comes from the reshare at the end of the instant.
    r.unscheduled = true;
    defer_reshare(cost);
    return;
  }
  schedule_end(transaction);
}

void AlphaBetaTransferModel::on_event(std::uint64_t payload) {
  const auto transaction = static_cast<std::uint32_t>(payload & 0xffffffffu);
  if (payload & latency_end) {
    done_.on_transaction_done(transaction);
    return;
  }
  Running& r = running_[transaction];
  if (!r.active || ((payload >> 32) & generation_mask) != (r.generation & generation_mask))
    return;  // rescheduled since
  r.active = false;
  const Cost& cost = *costs_[r.route];
  if (link_rates_)
    show_rates(r, r.rate, false);
  bool contended = r.rate < 1;
  for (const auto& [port, share] : cost.port_share)
    contended = contended || is_contended_[port];
  leave_ports(transaction, cost);
  if (contended)
    defer_reshare(cost);
  engine_.schedule_after(to_sim_time(cost.latency_s, TimeOverflow::Cause::communication), this,
                         latency_end | transaction);
}

const AlphaBetaTransferModel::Cost& AlphaBetaTransferModel::cost_of(std::uint32_t route) {
  if (route >= costs_.size())
    costs_.resize(route + 1);
  std::optional<Cost>& cost = costs_[route];
  if (cost)
    return *cost;
  const std::vector<Phase>& phases = routes_[route].phases;
  cost = Cost{};
  // The split of estimate_collective_time_s: the busiest ports' seconds, stretched by the fill,
  // move bytes; the steps' latencies do not.
  for (const Phase& phase : phases) {
    const PhaseLoad load = phase_load(phase, topology_);
    cost->bandwidth_s += load.busiest_s * phase.fill_factor();
    cost->latency_s +=
        phase_time_s(phase, load, step_latency_s_) - load.busiest_s * phase.fill_factor();
  }
  cost->link_bytes = estimate_link_bytes(phases, topology_);
  if (cost->bandwidth_s > 0) {
    for (const auto& [port, seconds] : estimate_port_seconds(phases, topology_)) {
      if (!(seconds > 0))
        continue;
      const auto [index, inserted] = port_index_.insert(port);
      if (inserted) {
        ports_.emplace_back();
        is_contended_.push_back(0);
      }
      // A port's seconds in a phase are at most the phase's busiest port's: a share of at most 1.
      cost->port_share.emplace_back(index, std::min(1.0, seconds / cost->bandwidth_s));
    }
  }
  if (const auto& fitted = routes_[route].fitted) {
    // The calibration's time replaces the network model's. Its ports stay busy for the same share
    // of its bandwidth part as the model has them, so that traffic beside it still slows it;
    // without ports to share, the whole fitted time is waited out.
    cost->latency_s = fitted->latency_s;
    cost->bandwidth_s = fitted->bandwidth_s;
    if (cost->port_share.empty()) {
      cost->latency_s += cost->bandwidth_s;
      cost->bandwidth_s = 0;
    }
  }
  return *cost;
}

void AlphaBetaTransferModel::join_ports(std::uint32_t transaction, const Cost& cost) {
  std::vector<std::uint32_t>& position = running_[transaction].position;
  position.resize(cost.port_share.size());
  for (std::size_t k = 0; k < cost.port_share.size(); ++k) {
    const auto [port, share] = cost.port_share[k];
    Port& p = ports_[port];
    p.demand += share;
    position[k] = static_cast<std::uint32_t>(p.transactions.size());
    p.transactions.push_back(transaction);
    p.slot.push_back(static_cast<std::uint32_t>(k));
    if (p.demand > contended_demand)
      is_contended_[port] = 1;
  }
}

void AlphaBetaTransferModel::leave_ports(std::uint32_t transaction, const Cost& cost) {
  const std::vector<std::uint32_t>& position = running_[transaction].position;
  for (std::size_t k = 0; k < cost.port_share.size(); ++k) {
    const auto [port, share] = cost.port_share[k];
    Port& p = ports_[port];
    // The last one in the list takes the leaving one's place.
    const std::uint32_t at = position[k];
    const std::uint32_t moved = p.transactions.back();
    const std::uint32_t moved_slot = p.slot.back();
    p.transactions[at] = moved;
    p.slot[at] = moved_slot;
    running_[moved].position[moved_slot] = at;
    p.transactions.pop_back();
    p.slot.pop_back();
    // The last one leaves exactly nothing, whatever rounding the sums left.
    p.demand = p.transactions.empty() ? 0.0 : p.demand - share;
  }
}

void AlphaBetaTransferModel::defer_reshare(const Cost& cost) {
  port_changed_.resize(ports_.size(), 0);
  for (const auto& [port, share] : cost.port_share) {
    if (!port_changed_[port]) {
      port_changed_[port] = 1;
      changed_ports_.push_back(port);
    }
  }
  if (!reshare_asked_) {
    reshare_asked_ = true;
    engine_.at_instant_end(this);
  }
}

void AlphaBetaTransferModel::on_instant_end() {
  reshare_asked_ = false;
  reshare();
  for (const std::uint32_t port : changed_ports_)
    port_changed_[port] = 0;
  changed_ports_.clear();
}

// Max-min over the part of the ports that the changes at the changed ports can reach: its ports,
// the transactions on them, and, through contended ports only, the transactions sharing those, and
// so on. Rates elsewhere cannot change (max-min is decided per connected part), so a change costs
// the size of its part, not of every contended port of the step. A transaction of the part on no
// contended port runs at its speed alone. The part's transactions and ports are sorted by id before
// the solve, so the order the ports' lists hold them in does not matter: one input gives one
// result.
void AlphaBetaTransferModel::reshare() {
  ++reshares_;
  members_.clear();
  part_ports_.clear();
  auto visit_port = [&](std::uint32_t port) {
    if (port_seen_[port])
      return;
    port_seen_[port] = 1;
    part_ports_.push_back(port);
  };
  port_seen_.resize(ports_.size(), 0);
  for (const std::uint32_t port : changed_ports_)
    visit_port(port);
  const std::size_t seeds = part_ports_.size();
  for (std::size_t next = 0; next < part_ports_.size(); ++next) {
    const std::uint32_t port = part_ports_[next];
    is_contended_[port] = ports_[port].demand > contended_demand ? 1 : 0;
    // The changed ports are always opened: those that stopped being contended release the
    // transactions they slowed.
    if (!is_contended_[port] && next >= seeds)
      continue;
    for (const std::uint32_t t : ports_[port].transactions) {
      if (member_of_[t] != 0)
        continue;
      members_.push_back(t);
      member_of_[t] = static_cast<std::uint32_t>(members_.size());
      for (const auto& [other, share] : costs_[running_[t].route]->port_share) {
        if (ports_[other].demand > contended_demand)
          visit_port(other);
      }
    }
  }
  contended_.clear();
  for (const std::uint32_t port : part_ports_) {
    port_seen_[port] = 0;
    if (is_contended_[port])
      contended_.push_back(port);
  }
  std::sort(contended_.begin(), contended_.end());
  std::sort(members_.begin(), members_.end());
  for (std::size_t i = 0; i < members_.size(); ++i)
    member_of_[members_[i]] = static_cast<std::uint32_t>(i + 1);
  local_port_.resize(ports_.size());
  capacity_.assign(contended_.size(), 1.0);
  for (std::size_t i = 0; i < contended_.size(); ++i)
    local_port_[contended_[i]] = static_cast<std::uint32_t>(i);
  begin_.assign(1, 0);
  resources_.clear();
  weights_.clear();
  cap_.assign(members_.size(), 1.0);
  for (const std::uint32_t t : members_) {
    for (const auto& [port, share] : costs_[running_[t].route]->port_share) {
      if (!(ports_[port].demand > contended_demand))
        continue;
      resources_.push_back(local_port_[port]);
      weights_.push_back(share);
    }
    begin_.push_back(static_cast<std::uint32_t>(resources_.size()));
  }
  const std::vector<double>& rates = solver_.solve(capacity_, cap_, begin_, resources_, weights_);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const std::uint32_t t = members_[i];
    // Never quite 0: rounding cannot stop a transaction.
    const double rate = begin_[i] == begin_[i + 1] ? 1.0 : std::clamp(rates[i], 1e-9, 1.0);
    Running& r = running_[t];
    if (r.active && r.unscheduled) {
      // Started this instant: nothing has run at its provisional rate 1.
      r.unscheduled = false;
      if (link_rates_ && rate != r.rate) {
        show_rates(r, r.rate, false);
        show_rates(r, rate, true);
      }
      r.rate = rate;
      schedule_end(t);
    } else if (r.active) {
      set_rate(t, rate);
    }
    member_of_[t] = 0;
  }
}

void AlphaBetaTransferModel::set_rate(std::uint32_t transaction, double rate) {
  Running& r = running_[transaction];
  if (rate == r.rate)
    return;
  const SimTime now = engine_.now();
  r.remaining_s = std::max(0.0, r.remaining_s - r.rate * to_seconds(now - r.since));
  r.since = now;
  if (link_rates_) {
    show_rates(r, r.rate, false);
    show_rates(r, rate, true);
  }
  r.rate = rate;
  ++r.generation;
  schedule_end(transaction);
}

void AlphaBetaTransferModel::schedule_end(std::uint32_t transaction) {
  const Running& r = running_[transaction];
  engine_.schedule_after(to_sim_time(r.remaining_s / r.rate, TimeOverflow::Cause::communication),
                         this, bandwidth_end(transaction, r.generation));
}

// While a transaction runs at `rate`, its links carry their bytes at rate / bandwidth part.
void AlphaBetaTransferModel::show_rates(const Running& running, double rate, bool starting) {
  const Cost& cost = *costs_[running.route];
  for (const auto& [link, bytes] : cost.link_bytes) {
    const double bytes_per_s = bytes / cost.bandwidth_s * rate;
    if (starting) {
      link_rates_->add_fast(link, engine_.now(), bytes_per_s);
    } else {
      link_rates_->remove_fast(link, engine_.now(), bytes_per_s);
    }
  }
}

void AlphaBetaTransferModel::add_link_bytes(std::vector<double>& link_bytes) const {
  for (std::size_t l = 0; l < link_bytes_.size(); ++l)
    link_bytes[l] += link_bytes_[l];
}

}  // namespace scaleplan
