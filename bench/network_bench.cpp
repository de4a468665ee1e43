// The cost of max-min sharing: the solver alone on synthetic problems, and the Network's
// reshare when flows of a collective start and finish on a fat-tree.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/collective/collective.hpp"
#include "sim/engine/maxmin.hpp"
#include "sim/engine/network.hpp"

namespace scaleplan {
namespace {

// Arg: flows; each crosses 4 of flows/2 links picked by a fixed linear congruential sequence.
void BM_MaxMinSolve(benchmark::State& state) {
  const auto flows = static_cast<std::size_t>(state.range(0));
  const std::size_t links = flows / 2;
  std::vector<double> capacity(links);
  for (std::size_t l = 0; l < links; ++l)
    capacity[l] = 1e9 * static_cast<double>(1 + l % 4);
  std::vector<std::vector<std::uint32_t>> flow_links(flows);
  std::uint64_t x = 12345;
  for (auto& route : flow_links) {
    for (int hop = 0; hop < 4; ++hop) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      route.push_back(static_cast<std::uint32_t>((x >> 33) % links));
    }
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(max_min_rates(capacity, flow_links));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["solves_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MaxMinSolve)->Arg(64)->Arg(512)->Arg(4096)->Unit(benchmark::kMicrosecond);

struct Count final : FlowObserver {
  std::uint64_t done = 0;
  void on_flow_done(std::uint64_t) override { ++done; }
};

ClusterSpec fat_tree(int nodes, int radix = 32) {
  ClusterSpec c;
  c.device.name = "bench";
  c.device.intra_node_link_bandwidth_bytes_per_s = {300e9, "bench"};
  c.device.host_link_bandwidth_bytes_per_s = {32e9, "bench"};
  c.device.intra_node_link_latency_s = {1e-6, "bench"};
  c.nodes = nodes;
  c.devices_per_node = 8;
  c.network.link_bandwidth_bytes_per_s = 25e9;
  c.network.nics_per_node = 8;
  c.network.switch_radix = radix;
  return c;
}

// The transfers of one all-reduce per local index over `nodes` nodes (8 rail rings), as
// BM_NetworkReshare starts them: staggered sizes, 1e8 bytes on rail 0 and 1e8 more each rail.
std::vector<Transfer> rail_rings(const Topology& topology, int nodes) {
  std::vector<Transfer> transfers;
  for (int k = 0; k < 8; ++k) {
    std::vector<int> rail;
    for (int n = 0; n < nodes; ++n)
      rail.push_back(n * 8 + k);
    for (const Phase& p : expand_collective(CollectiveKind::all_reduce, CollectiveAlgorithm::ring,
                                            rail, 1e8 * (1 + k), topology))
      transfers.insert(transfers.end(), p.transfers.begin(), p.transfers.end());
  }
  return transfers;
}

// Arg: nodes of 8 GPUs. One data-parallel all-reduce per local index (8 rings over the nodes,
// staggered sizes so that flows finish one by one): every start and finish reshares the
// component it touches. Reported per flow event (a start or a finish).
void BM_NetworkReshare(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const Topology topology(fat_tree(nodes));
  const std::vector<Transfer> transfers = rail_rings(topology, nodes);
  // Warm the route cache so that the loop measures sharing, not BFS.
  for (const Transfer& t : transfers)
    topology.route(t.src_device, t.dst_device);
  std::uint64_t flow_events = 0;
  for (auto _ : state) {
    Engine engine;
    Network network(engine, topology);
    Count count;
    std::uint64_t token = 0;
    for (const Transfer& t : transfers) {
      // Slightly different sizes: distinct finish times, one reshare each.
      network.start_flow(t.src_device, t.dst_device,
                         t.bytes * (1 + 1e-6 * static_cast<double>(token)), &count, token);
      ++token;
    }
    engine.run();
    flow_events += 2 * count.done;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(flow_events));
  state.counters["flows"] = static_cast<double>(transfers.size());
  state.counters["flow_events_per_s"] =
      benchmark::Counter(static_cast<double>(flow_events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NetworkReshare)->Arg(4)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond);

// Args: nodes of 8 GPUs, and 1 to start the phase's flows as one batch (Network::start_flows)
// or 0 to start them one by one. The phase is a direct all-to-all over every GPU: its flows
// share the NICs and the fabric, one component, so each start one by one reshares all the flows
// started before it, and the batch reshares them once. Runs to the end; reported per phase.
void BM_NetworkStartPhase(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const bool batch = state.range(1) != 0;
  const Topology topology(fat_tree(nodes));
  std::vector<int> everyone(static_cast<std::size_t>(nodes) * 8);
  for (std::size_t d = 0; d < everyone.size(); ++d)
    everyone[d] = static_cast<int>(d);
  std::vector<Network::FlowStart> starts;
  for (const Phase& p : expand_collective(CollectiveKind::all_to_all, CollectiveAlgorithm::direct,
                                          everyone, 1e8, topology)) {
    for (const Transfer& t : p.transfers)
      starts.push_back({t.src_device, t.dst_device, t.bytes, starts.size()});
  }
  for (const Network::FlowStart& s : starts)
    topology.route(s.src_device, s.dst_device);
  std::uint64_t reshares = 0;
  for (auto _ : state) {
    Engine engine;
    Network network(engine, topology);
    Count count;
    if (batch) {
      network.start_flows(starts, &count);
    } else {
      for (const Network::FlowStart& s : starts)
        network.start_flow(s.src_device, s.dst_device, s.bytes, &count, s.token);
    }
    engine.run();
    reshares = network.reshares();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["flows"] = static_cast<double>(starts.size());
  state.counters["reshares"] = static_cast<double>(reshares);
  state.counters["phases_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NetworkStartPhase)
    ->Args({2, 0})
    ->Args({2, 1})
    ->Args({4, 0})
    ->Args({4, 1})
    ->Unit(benchmark::kMillisecond);
// Arg: nodes of 8 GPUs. `lookup(topology, transfer)` on the transfers of 8 rail rings over the
// nodes and of a ring inside each node, each routed once before. Reported per lookup.
template <class Lookup>
void time_lookups(benchmark::State& state, Lookup lookup) {
  const int nodes = static_cast<int>(state.range(0));
  const Topology topology(fat_tree(nodes));
  std::vector<Transfer> transfers = rail_rings(topology, nodes);
  for (int n = 0; n < nodes; ++n) {
    for (int k = 0; k < 8; ++k)
      transfers.push_back({n * 8 + k, n * 8 + (k + 1) % 8, 1e8});
  }
  for (const Transfer& t : transfers)
    topology.route(t.src_device, t.dst_device);
  for (auto _ : state) {
    for (const Transfer& t : transfers)
      lookup(topology, t);
  }
  const auto lookups = static_cast<std::int64_t>(state.iterations() * transfers.size());
  state.SetItemsProcessed(lookups);
  state.counters["lookups_per_s"] =
      benchmark::Counter(static_cast<double>(lookups), benchmark::Counter::kIsRate);
}

// Topology::route on routes already found: what every flow start and every finished phase's
// latency asks.
void BM_TopologyRoute(benchmark::State& state) {
  time_lookups(state, [](const Topology& topology, const Transfer& t) {
    benchmark::DoNotOptimize(topology.route(t.src_device, t.dst_device).data());
  });
}
BENCHMARK(BM_TopologyRoute)->Arg(4)->Arg(64)->Unit(benchmark::kMicrosecond);

// Topology::endpoint_path: what the algorithm chooser and the fast path ask for every transfer.
void BM_TopologyEndpointPath(benchmark::State& state) {
  time_lookups(state, [](const Topology& topology, const Transfer& t) {
    benchmark::DoNotOptimize(topology.endpoint_path(t.src_device, t.dst_device));
  });
}
BENCHMARK(BM_TopologyEndpointPath)->Arg(4)->Arg(64)->Unit(benchmark::kMicrosecond);

// Args: nodes of 8 GPUs, switch radix. Route search from every device of a fat-tree (one NIC per
// GPU, as bench/scenarios' 131,072-H100 cluster): each routes to the same GPU of the next node
// (a data-parallel ring) and to the next GPU of its node, on a topology built fresh (its build not
// timed). Counters: the hop tables built and their MB; what a table per source device over every
// vertex (the search before route classes) would hold for the same sources, in MB.
void BM_RouteTables(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int radix = static_cast<int>(state.range(1));
  Topology::RouteTableUse use;
  std::size_t vertices = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto topology = std::make_unique<Topology>(fat_tree(nodes, radix));
    vertices = topology->vertex_count();
    state.ResumeTiming();
    const int devices = topology->device_count();
    for (int d = 0; d < devices; ++d) {
      benchmark::DoNotOptimize(topology->route(d, (d + 8) % devices).data());
      benchmark::DoNotOptimize(topology->route(d, d / 8 * 8 + (d + 1) % 8).data());
    }
    state.PauseTiming();  // not the topology's destruction
    use = topology->route_table_use();
    topology.reset();
    state.ResumeTiming();
  }
  const double devices = 8.0 * nodes;
  state.counters["devices"] = devices;
  state.counters["tables"] = static_cast<double>(use.tables);
  state.counters["table_MB"] = static_cast<double>(use.bytes) / 1e6;
  state.counters["per_device_MB"] = devices * static_cast<double>(vertices) * 2 / 1e6;
}
BENCHMARK(BM_RouteTables)
    ->Args({1024, 64})
    ->Args({4096, 64})
    ->Args({16384, 128})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace scaleplan

BENCHMARK_MAIN();
