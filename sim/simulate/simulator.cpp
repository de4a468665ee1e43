#include "sim/simulate/simulator.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "sim/engine/engine.hpp"
#include "sim/engine/network.hpp"

namespace scaleplan {

namespace {

constexpr std::uint64_t kind_shift = 60;
constexpr std::uint64_t compute_end = 0;
constexpr std::uint64_t transfer_end = 1;
constexpr std::uint64_t rank_shift = 32;

struct StreamQueue {
  std::vector<std::uint32_t> ops;
  std::size_t head = 0;
  bool busy = false;
};

// What the engine tracks of one op, together so that starting and finishing it touches one cache
// line.
struct OpState {
  std::uint32_t remaining_deps = 0;
  std::uint32_t sequence = 0;  // order among this rank's ops with the same partner(s)
  SimTime start = 0;
};

struct RankState {
  std::vector<OpState> ops;
  std::vector<std::uint32_t> dependents_begin;  // CSR offsets, size ops + 1
  std::vector<std::uint32_t> dependents;
  StreamQueue streams[stream_count];
  std::size_t completed = 0;
  double activation_bytes = 0;
  double peak_activation_bytes = 0;
  SimTime finish = 0;
  std::vector<std::pair<SimTime, SimTime>> compute_busy;
  std::vector<std::pair<SimTime, SimTime>> comm_busy;
};

// What the fast path charges for a collective or a message: its time alone on the network, and
// the bytes it puts on the links it can name (estimate_link_bytes).
struct AlphaBetaCost {
  double time_s = 0;
  std::vector<std::pair<LinkId, double>> link_bytes;
  // The time it occupies each of its ports (estimate_port_seconds), by the simulation's own dense
  // port index.
  std::vector<std::pair<std::uint32_t, SimTime>> port_time;
};

// One collective or one message, from the moment its first participant reaches it.
struct Transaction {
  std::vector<std::pair<int, std::uint32_t>> participants;  // (program index, op)
  std::size_t expected = 0;
  const std::vector<Phase>* shared_phases = nullptr;  // a collective's, from the cache
  std::vector<Phase> own_phases;                      // a message's
  std::size_t phase = 0;
  SimTime phase_start = 0;
  std::size_t outstanding_flows = 0;
  const AlphaBetaCost* alpha_beta = nullptr;  // on the fast path: what it charged
  SimTime alpha_beta_duration = 0;
  bool in_use = false;
};

const std::vector<Phase>& phases_of(const Transaction& t) {
  return t.shared_phases ? *t.shared_phases : t.own_phases;
}

// A collective's expansion on one group, once for all its occurrences.
struct CollectiveRoute {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::ring;
  std::vector<Phase> phases;  // with the other replicas' copies of the transfers
  std::uint64_t occurrences = 0;
  bool alpha_beta = false;
  std::optional<AlphaBetaCost> alpha_beta_cost;  // computed on first use
};

double measure(std::vector<std::pair<SimTime, SimTime>>& intervals) {
  std::sort(intervals.begin(), intervals.end());
  SimTime total = 0, cursor = 0;
  for (auto [a, b] : intervals) {
    a = std::max(a, cursor);
    if (b > a) {
      total += b - a;
      cursor = b;
    }
  }
  return to_seconds(total);
}

// Time covered by `a` but not by `b`; both are merged first.
double measure_difference(std::vector<std::pair<SimTime, SimTime>> a,
                          std::vector<std::pair<SimTime, SimTime>> b) {
  auto merge = [](std::vector<std::pair<SimTime, SimTime>>& v) {
    std::sort(v.begin(), v.end());
    std::vector<std::pair<SimTime, SimTime>> out;
    for (const auto& iv : v) {
      if (!out.empty() && iv.first <= out.back().second) {
        out.back().second = std::max(out.back().second, iv.second);
      } else if (iv.second > iv.first) {
        out.push_back(iv);
      }
    }
    v = std::move(out);
  };
  merge(a);
  merge(b);
  SimTime total = 0;
  std::size_t j = 0;
  for (const auto& [start, end] : a) {
    SimTime cursor = start;
    while (j < b.size() && b[j].second <= cursor)
      ++j;
    for (std::size_t k = j; k < b.size() && b[k].first < end; ++k) {
      if (b[k].first > cursor)
        total += b[k].first - cursor;
      cursor = std::max(cursor, b[k].second);
      if (cursor >= end)
        break;
    }
    if (cursor < end)
      total += end - cursor;
  }
  return to_seconds(total);
}

class Simulation final : public EventHandler, public FlowObserver, public LinkRateObserver {
 public:
  Simulation(const Plan& plan, const Topology& topology, const ComputeModel& compute,
             const SimulationOptions& options, SimulationObserver* observer)
      : plan_(plan),
        topology_(topology),
        options_(options),
        observer_(observer),
        network_(engine_, topology) {
    if (static_cast<int>(plan.ranks.size()) > topology.device_count()) {
      throw std::invalid_argument("the plan has " + std::to_string(plan.ranks.size()) +
                                  " ranks but the cluster only " +
                                  std::to_string(topology.device_count()) + " devices");
    }
    // A plan file names each rank's device; one past the cluster would index past the network.
    for (const auto& program : plan.ranks) {
      if (program.device < 0 || program.device >= topology.device_count()) {
        throw std::invalid_argument("rank " + std::to_string(program.rank) + " runs on device " +
                                    std::to_string(program.device) + ", but the cluster has " +
                                    std::to_string(topology.device_count()) + " devices");
      }
    }
    const Replicas& replicas = plan.replicas;
    if (replicas.count > 1) {
      for (const auto& program : plan.ranks) {
        const std::int64_t last_copy =
            program.device + std::int64_t{replicas.count - 1} * replicas.rank_stride;
        if (last_copy >= topology.device_count()) {
          throw std::invalid_argument("rank " + std::to_string(program.rank) + " on device " +
                                      std::to_string(program.device) + " has a copy in replica " +
                                      std::to_string(replicas.count - 1) + " on device " +
                                      std::to_string(last_copy) + ", but the cluster has " +
                                      std::to_string(topology.device_count()) + " devices");
        }
      }
    }
    slot_of_rank_.assign(plan.world_size(), -1);
    for (std::size_t i = 0; i < plan.ranks.size(); ++i)
      slot_of_rank_[plan.ranks[i].rank] = static_cast<int>(i);
    listed_members_.assign(plan.groups.size(), 0);
    for (std::size_t g = 0; g < plan.groups.size(); ++g) {
      for (int member : plan.groups[g].ranks)
        listed_members_[g] += slot_of_rank_[member] >= 0 ? 1 : 0;
    }
    fast_link_bytes_.assign(topology.link_count(), 0.0);
    link_rate_observer_ = observer ? observer->link_rate_observer() : nullptr;
    if (link_rate_observer_) {
      network_.set_link_rate_observer(this);
      flow_rate_.assign(topology.link_count(), 0.0);
      fast_rate_.assign(topology.link_count(), 0.0);
      fast_active_.assign(topology.link_count(), 0);
    }
    block_time_.reserve(plan.blocks.size());
    for (const auto& block : plan.blocks)
      block_time_.push_back(to_sim_time(block_time_s(compute, block)));
    ranks_.resize(plan.ranks.size());
    for (std::size_t r = 0; r < plan.ranks.size(); ++r)
      prepare(static_cast<int>(r));
    choose_network_models();
  }

  SimulationResult run() {
    for (int r = 0; r < static_cast<int>(ranks_.size()); ++r) {
      for (int s = 0; s < stream_count; ++s)
        try_start(r, static_cast<Stream>(s));
    }
    engine_.run();
    check_finished();
    SimulationResult result;
    SimTime step = 0;
    for (const auto& state : ranks_)
      step = std::max(step, state.finish);
    result.step_time_s = to_seconds(step);
    for (std::size_t i = 0; i < ranks_.size(); ++i) {
      RankState& state = ranks_[i];
      RankResult r;
      r.rank = plan_.ranks[i].rank;
      r.finish_s = to_seconds(state.finish);
      r.compute_s = measure(state.compute_busy);
      r.exposed_comm_s = measure_difference(state.comm_busy, state.compute_busy);
      r.idle_s = std::max(0.0, result.step_time_s - r.compute_s - r.exposed_comm_s);
      r.peak_activation_bytes = state.peak_activation_bytes;
      result.ranks.push_back(r);
    }
    result.events = engine_.events_processed();
    result.flows = network_.flows_started();
    result.collectives_by_algorithm = algorithm_counts_;
    result.flow_transactions = flow_transactions_;
    result.alpha_beta_transactions = alpha_beta_transactions_;
    result.flows_if_all_flows = flows_if_all_flows_;
    result.routed_sources_if_all_flows = routed_sources_if_all_flows_;
    result.link_bytes = network_.link_bytes();
    for (std::size_t l = 0; l < result.link_bytes.size(); ++l)
      result.link_bytes[l] += fast_link_bytes_[l];
    return result;
  }

  void on_event(std::uint64_t payload) override {
    const std::uint64_t kind = payload >> kind_shift;
    if (kind == compute_end) {
      const int rank = static_cast<int>((payload >> rank_shift) & 0x0fffffff);
      const auto op = static_cast<std::uint32_t>(payload & 0xffffffff);
      finish_op(rank, op);
    } else {
      end_phase(static_cast<std::uint32_t>(payload & 0xffffffff));
    }
  }

  // The network's flows and the fast path's transactions load the same links: the observer sees
  // their sum.
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override {
    flow_rate_[link] = bytes_per_s;
    link_rate_observer_->on_link_rate(link, time, bytes_per_s + fast_rate_[link]);
  }

  void on_flow_done(std::uint64_t token) override {
    Transaction& t = transactions_[token];
    if (--t.outstanding_flows > 0)
      return;
    // The phase's steps each pay the software step cost and the wire latency of the longest
    // route among its transfers.
    const Phase& phase = phases_of(t)[t.phase];
    double route_latency = 0;
    for (const auto& tr : phase.transfers) {
      route_latency =
          std::max(route_latency, topology_.route_latency_s(tr.src_device, tr.dst_device));
    }
    // A pipelined phase also waits for its fill: the flow time stretched by fill_factor().
    const double fill = to_seconds(engine_.now() - t.phase_start) * (phase.fill_factor() - 1.0);
    const double latency =
        fill + phase.steps * (options_.collective_step_latency_s + route_latency);
    engine_.schedule_after(to_sim_time(latency), this, (transfer_end << kind_shift) | token);
  }

 private:
  void prepare(int r) {
    const RankProgram& program = plan_.ranks[r];
    RankState& state = ranks_[r];
    const std::size_t n = program.ops.size();
    state.ops.assign(n, OpState{});
    std::vector<std::uint32_t> count(n + 1, 0);
    std::map<std::uint32_t, std::uint32_t> per_group;
    std::map<std::pair<int, int>, std::uint32_t> per_peer;  // (send?, peer)
    for (std::uint32_t i = 0; i < n; ++i) {
      const Op& op = program.ops[i];
      state.ops[i].remaining_deps = static_cast<std::uint32_t>(op.deps.size());
      for (std::uint32_t d : op.deps)
        ++count[d + 1];
      state.streams[static_cast<int>(op.stream)].ops.push_back(i);
      if (op.kind == OpKind::collective)
        state.ops[i].sequence = per_group[op.group]++;
      if (op.kind == OpKind::send)
        state.ops[i].sequence = per_peer[{1, op.peer}]++;
      if (op.kind == OpKind::recv)
        state.ops[i].sequence = per_peer[{0, op.peer}]++;
    }
    for (std::size_t i = 1; i <= n; ++i)
      count[i] += count[i - 1];
    state.dependents_begin = count;
    state.dependents.assign(count[n], 0);
    std::vector<std::uint32_t> fill(count.begin(), count.end() - 1);
    for (std::uint32_t i = 0; i < n; ++i) {
      for (std::uint32_t d : program.ops[i].deps)
        state.dependents[fill[d]++] = i;
    }
  }

  void try_start(int rank, Stream stream) {
    RankState& state = ranks_[rank];
    StreamQueue& q = state.streams[static_cast<int>(stream)];
    if (q.busy || q.head >= q.ops.size())
      return;
    const std::uint32_t index = q.ops[q.head];
    if (state.ops[index].remaining_deps != 0)
      return;
    q.busy = true;
    const Op& op = plan_.ranks[rank].ops[index];
    switch (op.kind) {
      case OpKind::compute:
        state.ops[index].start = engine_.now();
        if (op.activation_bytes > 0)
          change_memory(rank, op.activation_bytes);
        engine_.schedule_after(
            block_time_[op.block], this,
            (compute_end << kind_shift) | (static_cast<std::uint64_t>(rank) << rank_shift) | index);
        break;
      case OpKind::collective: {
        const auto key = std::make_tuple(std::uint64_t{op.group}, -1, state.ops[index].sequence);
        join(key, rank, index, listed_members_[op.group]);
        break;
      }
      case OpKind::send:
      case OpKind::recv: {
        const bool send = op.kind == OpKind::send;
        const int self = plan_.ranks[rank].rank;
        const std::uint64_t from = send ? self : op.peer;
        const int to = send ? op.peer : self;
        join(std::make_tuple(from | (std::uint64_t{1} << 40), to, state.ops[index].sequence), rank,
             index, 2);
        break;
      }
    }
  }

  using Key = std::tuple<std::uint64_t, int, std::uint32_t>;

  void join(const Key& key, int rank, std::uint32_t op, std::size_t expected) {
    auto [it, inserted] = open_.try_emplace(key, 0);
    if (inserted) {
      it->second = allocate_transaction();
      transactions_[it->second].expected = expected;
    }
    const std::uint32_t id = it->second;
    Transaction& t = transactions_[id];
    t.participants.emplace_back(rank, op);
    if (t.participants.size() < t.expected)
      return;
    open_.erase(it);
    launch(id);
  }

  std::uint32_t allocate_transaction() {
    if (!free_transactions_.empty()) {
      const std::uint32_t id = free_transactions_.back();
      free_transactions_.pop_back();
      transactions_[id].in_use = true;
      return id;
    }
    transactions_.emplace_back();
    transactions_.back().in_use = true;
    return static_cast<std::uint32_t>(transactions_.size() - 1);
  }

  void launch(std::uint32_t id) {
    Transaction& t = transactions_[id];
    // Participants in a fixed order, whatever order they arrived in.
    std::sort(t.participants.begin(), t.participants.end());
    const auto [slot0, op0_index] = t.participants.front();
    const Op& op0 = plan_.ranks[slot0].ops[op0_index];
    for (auto [slot, op] : t.participants)
      ranks_[slot].ops[op].start = engine_.now();
    if (op0.kind == OpKind::collective) {
      CollectiveRoute& route = collective_route(op0);
      ++algorithm_counts_[std::string(to_string(route.algorithm))];
      if (route.alpha_beta) {
        if (!route.alpha_beta_cost)
          route.alpha_beta_cost = alpha_beta_cost(route.phases);
        t.alpha_beta = &*route.alpha_beta_cost;
      } else {
        t.shared_phases = &route.phases;
      }
    } else {
      const bool sender_first = op0.kind == OpKind::send;
      const int from_slot = sender_first ? slot0 : t.participants[1].first;
      const Op& send = sender_first ? op0 : plan_.ranks[from_slot].ops[t.participants[1].second];
      const int src = plan_.ranks[from_slot].device;
      const int dst = device_of_rank(send.peer);
      if (messages_alpha_beta_) {
        const auto key = std::make_tuple(src, dst, send.bytes);
        auto cached = message_costs_.find(key);
        if (cached == message_costs_.end())
          cached =
              message_costs_.emplace(key, alpha_beta_cost({message_phase(src, dst, send.bytes)}))
                  .first;
        t.alpha_beta = &cached->second;
      } else {
        t.own_phases = {message_phase(src, dst, send.bytes)};
      }
    }
    t.phase = 0;
    if (t.alpha_beta) {
      ++alpha_beta_transactions_;
      t.alpha_beta_duration = queue_on_ports(*t.alpha_beta);
      charge(t, true);
      engine_.schedule_after(t.alpha_beta_duration, this, (transfer_end << kind_shift) | id);
      return;
    }
    ++flow_transactions_;
    start_phase(id);
  }

  AlphaBetaCost alpha_beta_cost(const std::vector<Phase>& phases) {
    AlphaBetaCost cost{
        estimate_collective_time_s(phases, topology_, options_.collective_step_latency_s),
        estimate_link_bytes(phases, topology_),
        {}};
    for (const auto& [port, seconds] : estimate_port_seconds(phases, topology_)) {
      const auto [it, inserted] =
          port_index_.try_emplace(port, static_cast<std::uint32_t>(port_busy_until_.size()));
      if (inserted)
        port_busy_until_.push_back(0);
      cost.port_time.emplace_back(it->second, to_sim_time(seconds));
    }
    return cost;
  }

  // How long a fast-path transaction starting now takes: its time alone, or longer where one of
  // its ports is still working off earlier fast-path traffic, whose backlog it then joins. The
  // ports serve that traffic back to back, so concurrent collectives through a port take as long
  // in all as the port needs for all of them (the last one the longest, rather than all the same
  // as under fair sharing).
  SimTime queue_on_ports(const AlphaBetaCost& cost) {
    const SimTime now = engine_.now();
    SimTime duration = to_sim_time(cost.time_s);
    for (const auto& [port, busy] : cost.port_time)
      duration = std::max(duration, std::max<SimTime>(port_busy_until_[port] - now, 0) + busy);
    for (const auto& [port, busy] : cost.port_time)
      port_busy_until_[port] = std::max(port_busy_until_[port], now) + busy;
    return duration;
  }

  // A fast-path transaction's bytes land on its links when it starts; with a link observer its
  // links also carry bytes over time, steadily, until it ends (`starting` false).
  void charge(const Transaction& t, bool starting) {
    const AlphaBetaCost& cost = *t.alpha_beta;
    if (starting) {
      for (const auto& [link, bytes] : cost.link_bytes)
        fast_link_bytes_[link] += bytes;
    }
    if (!link_rate_observer_ || t.alpha_beta_duration <= 0)
      return;
    const double duration_s = to_seconds(t.alpha_beta_duration);
    for (const auto& [link, bytes] : cost.link_bytes) {
      const double rate = bytes / duration_s;
      if (starting) {
        ++fast_active_[link];
        fast_rate_[link] += rate;
      } else {
        // The last one leaves exactly nothing, whatever rounding the sums left.
        fast_rate_[link] = --fast_active_[link] ? fast_rate_[link] - rate : 0.0;
      }
      link_rate_observer_->on_link_rate(link, engine_.now(), flow_rate_[link] + fast_rate_[link]);
    }
  }

  // The collective's algorithm and phases on its group, expanded on first use.
  CollectiveRoute& collective_route(const Op& op) {
    const auto key = std::make_tuple(op.group, op.collective, op.bytes);
    auto found = routes_.find(key);
    if (found != routes_.end())
      return found->second;
    std::vector<int> devices;
    for (int member : plan_.groups[op.group].ranks)
      devices.push_back(device_of_rank(member));
    const auto& forced = options_.collective_algorithm;
    CollectiveRoute route;
    route.algorithm = forced && algorithm_applies(op.collective, *forced, devices, topology_)
                          ? *forced
                          : choose_algorithm(op.collective, devices, op.bytes, topology_,
                                             options_.collective_step_latency_s);
    route.phases = expand_collective(op.collective, route.algorithm, devices, op.bytes, topology_);
    const int spanned = replicas_spanned(op.group);
    for (Phase& phase : route.phases)
      add_replica_copies(phase, spanned);
    return routes_.emplace(key, std::move(route)).first->second;
  }

  // A message and its copies in the other replicas (a message stays inside its replica).
  Phase message_phase(int src, int dst, double bytes) const {
    Phase phase;
    phase.transfers.push_back({src, dst, bytes});
    add_replica_copies(phase, 1);
    return phase;
  }

  // The device a rank runs on, the listed ranks' or a copy's in another replica.
  int device_of_rank(int rank) const {
    const int listed = plan_.replicas.listed_rank_of(rank);
    return plan_.ranks[slot_of_rank_[listed]].device + (rank - listed);
  }

  // Replicas 0..w-1 a group spans (validate_plan checks that they are a prefix).
  int replicas_spanned(std::uint32_t group) const {
    int spanned = 1;
    for (int member : plan_.groups[group].ranks)
      spanned = std::max(spanned, plan_.replicas.replica_of(member) + 1);
    return spanned;
  }

  // The same transfers in the replicas the listed ones stand for, wherever they could share a
  // link with other traffic: between nodes, and inside a node unless every device has its own
  // port into an NVSwitch or NVLink fabric.
  void add_replica_copies(Phase& phase, int spanned) const {
    const Replicas& replicas = plan_.replicas;
    if (replicas.count <= spanned)
      return;
    const auto fabric = topology_.node_fabric();
    const bool private_ports =
        fabric && (*fabric == NodeFabric::nvswitch || *fabric == NodeFabric::nvlink_mesh);
    const std::size_t listed = phase.transfers.size();
    for (int copy = spanned; copy < replicas.count; copy += spanned) {
      const int offset = copy * replicas.rank_stride;
      for (std::size_t i = 0; i < listed; ++i) {
        const Transfer tr = phase.transfers[i];
        if (private_ports && topology_.node_of(tr.src_device) == topology_.node_of(tr.dst_device))
          continue;
        phase.transfers.push_back({tr.src_device + offset, tr.dst_device + offset, tr.bytes});
      }
    }
  }

  // Before the run: how many flows each kind of collective (and the messages) would start, and
  // which take the fast path.
  void choose_network_models() {
    // Per kind of collective, and for the messages as one kind: the flows it would start and the
    // devices they start from.
    struct Demand {
      std::uint64_t flows = 0;
      std::vector<int> sources;
      CollectiveRoute* route = nullptr;  // null: the messages
    };
    Demand messages;
    for (std::size_t slot = 0; slot < plan_.ranks.size(); ++slot) {
      const RankProgram& program = plan_.ranks[slot];
      for (const Op& op : program.ops) {
        if (op.kind == OpKind::send) {
          const Phase phase = message_phase(program.device, device_of_rank(op.peer), op.bytes);
          messages.flows += phase.transfers.size();
          for (const Transfer& tr : phase.transfers)
            messages.sources.push_back(tr.src_device);
        } else if (op.kind == OpKind::collective && first_listed_member(op.group) == program.rank) {
          ++collective_route(op).occurrences;
        }
      }
    }
    std::vector<Demand> demands;
    for (auto& [key, route] : routes_) {
      Demand d;
      d.route = &route;
      for (const Phase& phase : route.phases) {
        d.flows += phase.transfers.size() * route.occurrences;
        for (const Transfer& tr : phase.transfers)
          d.sources.push_back(tr.src_device);
      }
      demands.push_back(std::move(d));
    }
    demands.push_back(std::move(messages));
    std::vector<std::uint32_t> users(topology_.device_count(), 0);
    std::uint64_t flows = 0, sources = 0;
    for (Demand& d : demands) {
      std::sort(d.sources.begin(), d.sources.end());
      d.sources.erase(std::unique(d.sources.begin(), d.sources.end()), d.sources.end());
      flows += d.flows;
      for (int src : d.sources)
        sources += users[src]++ == 0 ? 1 : 0;
    }
    flows_if_all_flows_ = flows;
    routed_sources_if_all_flows_ = sources;
    const NetworkModel model = options_.network_model;
    if (model == NetworkModel::flows)
      return;
    // Most flows first; equal ones in key order, the messages after the collectives.
    std::stable_sort(demands.begin(), demands.end(),
                     [](const Demand& a, const Demand& b) { return a.flows > b.flows; });
    for (const Demand& d : demands) {
      const double search_work =
          static_cast<double>(sources) *
          static_cast<double>(topology_.vertex_count() + topology_.link_count());
      if (model == NetworkModel::automatic && flows <= options_.flow_budget &&
          search_work <= options_.route_search_budget)
        break;
      if (d.route) {
        d.route->alpha_beta = true;
      } else {
        messages_alpha_beta_ = true;
      }
      flows -= d.flows;
      for (int src : d.sources)
        sources -= --users[src] == 0 ? 1 : 0;
    }
  }

  int first_listed_member(std::uint32_t group) const {
    for (int member : plan_.groups[group].ranks) {
      if (slot_of_rank_[member] >= 0)
        return member;
    }
    return -1;
  }

  void start_phase(std::uint32_t id) {
    Transaction& t = transactions_[id];
    if (t.phase >= phases_of(t).size()) {
      complete_transaction(id);
      return;
    }
    const Phase& phase = phases_of(t)[t.phase];
    t.phase_start = engine_.now();
    t.outstanding_flows = phase.transfers.size();
    if (phase.transfers.empty()) {
      engine_.schedule_after(0, this, (transfer_end << kind_shift) | id);
      return;
    }
    for (const auto& tr : phase.transfers) {
      network_.start_flow(tr.src_device, tr.dst_device, tr.bytes, this, id);
    }
  }

  void end_phase(std::uint32_t id) {
    if (transactions_[id].alpha_beta)
      charge(transactions_[id], false);
    ++transactions_[id].phase;
    start_phase(id);
  }

  void complete_transaction(std::uint32_t id) {
    auto participants = std::move(transactions_[id].participants);
    transactions_[id] = Transaction{};
    free_transactions_.push_back(id);
    for (auto [rank, op] : participants)
      finish_op(rank, op);
  }

  void change_memory(int rank, double delta) {
    RankState& state = ranks_[rank];
    state.activation_bytes += delta;
    if (state.activation_bytes < 0 && state.activation_bytes > -1)
      state.activation_bytes = 0;
    state.peak_activation_bytes = std::max(state.peak_activation_bytes, state.activation_bytes);
    if (observer_)
      observer_->on_memory(rank, engine_.now(), state.activation_bytes);
  }

  void finish_op(int rank, std::uint32_t index) {
    RankState& state = ranks_[rank];
    const Op& op = plan_.ranks[rank].ops[index];
    const SimTime now = engine_.now();
    ++state.completed;
    state.finish = std::max(state.finish, now);
    if (op.kind == OpKind::compute) {
      state.compute_busy.emplace_back(state.ops[index].start, now);
      if (op.activation_bytes < 0)
        change_memory(rank, op.activation_bytes);
    } else {
      state.comm_busy.emplace_back(state.ops[index].start, now);
    }
    if (observer_)
      observer_->on_op(rank, index, state.ops[index].start, now);
    StreamQueue& q = state.streams[static_cast<int>(op.stream)];
    q.busy = false;
    ++q.head;
    for (std::uint32_t k = state.dependents_begin[index]; k < state.dependents_begin[index + 1];
         ++k) {
      const std::uint32_t dependent = state.dependents[k];
      if (--state.ops[dependent].remaining_deps == 0) {
        try_start(rank, plan_.ranks[rank].ops[dependent].stream);
      }
    }
    try_start(rank, op.stream);
  }

  void check_finished() const {
    std::string stuck;
    int reported = 0;
    for (std::size_t r = 0; r < ranks_.size() && reported < 8; ++r) {
      const RankState& state = ranks_[r];
      if (state.completed == plan_.ranks[r].ops.size())
        continue;
      for (int s = 0; s < stream_count; ++s) {
        const StreamQueue& q = state.streams[s];
        if (q.head >= q.ops.size())
          continue;
        const std::uint32_t index = q.ops[q.head];
        const Op& op = plan_.ranks[r].ops[index];
        stuck += "\n  rank " + std::to_string(plan_.ranks[r].rank) + " op " +
                 std::to_string(index) + " (" + plan_.labels[op.label] + ", " +
                 std::string(to_string(op.kind)) + " on " + std::string(to_string(op.stream)) +
                 ")" +
                 (state.ops[index].remaining_deps ? " waits for its dependencies"
                                                  : " waits for its partners");
        ++reported;
        break;
      }
    }
    if (!stuck.empty())
      throw std::runtime_error("the plan deadlocks; stuck ops:" + stuck);
  }

  const Plan& plan_;
  const Topology& topology_;
  SimulationOptions options_;
  SimulationObserver* observer_;
  Engine engine_;
  Network network_;
  std::vector<SimTime> block_time_;
  std::vector<int> slot_of_rank_;            // index in plan_.ranks, -1 for another replica's rank
  std::vector<std::size_t> listed_members_;  // per group: the members the plan lists
  std::vector<RankState> ranks_;
  std::map<Key, std::uint32_t> open_;
  std::vector<Transaction> transactions_;
  std::vector<std::uint32_t> free_transactions_;
  // Per (group, kind, bytes), chosen and expanded once; and how many collectives each ran.
  using RouteKey = std::tuple<std::uint32_t, CollectiveKind, double>;
  std::map<RouteKey, CollectiveRoute> routes_;
  std::map<std::string, std::uint64_t> algorithm_counts_;
  bool messages_alpha_beta_ = false;
  std::map<std::tuple<int, int, double>, AlphaBetaCost> message_costs_;  // fast-path messages
  std::vector<double> fast_link_bytes_;  // bytes the fast path put on each link
  // Each port the fast path has used (estimate_port_seconds' ids), densely numbered, and when it
  // will have worked off the fast-path traffic given to it.
  std::unordered_map<std::uint64_t, std::uint32_t> port_index_;
  std::vector<SimTime> port_busy_until_;
  // With a link observer: each link's rate from flows and from fast-path transactions, and how
  // many of those are on it.
  LinkRateObserver* link_rate_observer_ = nullptr;
  std::vector<double> flow_rate_;
  std::vector<double> fast_rate_;
  std::vector<std::uint32_t> fast_active_;
  std::uint64_t flow_transactions_ = 0;
  std::uint64_t alpha_beta_transactions_ = 0;
  std::uint64_t flows_if_all_flows_ = 0;
  std::uint64_t routed_sources_if_all_flows_ = 0;
};

}  // namespace

SimulationResult simulate(const Plan& plan, const Topology& topology, const ComputeModel& compute,
                          const SimulationOptions& options, SimulationObserver* observer) {
  validate_plan(plan);
  Simulation simulation(plan, topology, compute, options, observer);
  return simulation.run();
}

}  // namespace scaleplan
