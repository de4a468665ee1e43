#include "calibrate/collective_bench.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>
#include <stdexcept>

#include "calibrate/compute_bench.hpp"

namespace scaleplan {

namespace {

struct Placement {
  int world_rank = 0;
  int local_rank = 0;
  int local_size = 1;
  int node = 0;
};

Placement place(MPI_Comm world, std::optional<int> ranks_per_node) {
  Placement p;
  MPI_Comm_rank(world, &p.world_rank);
  if (ranks_per_node) {
    p.local_size = *ranks_per_node;
    p.local_rank = p.world_rank % p.local_size;
    p.node = p.world_rank / p.local_size;
    return p;
  }
  MPI_Comm node_comm;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, p.world_rank, MPI_INFO_NULL, &node_comm);
  MPI_Comm_rank(node_comm, &p.local_rank);
  MPI_Comm_size(node_comm, &p.local_size);
  // Nodes are numbered by the order of their first rank: the ranks that lead their node form a
  // communicator whose ranks are the node numbers.
  MPI_Comm leaders;
  MPI_Comm_split(world, p.local_rank == 0 ? 0 : MPI_UNDEFINED, p.world_rank, &leaders);
  if (p.local_rank == 0) {
    MPI_Comm_rank(leaders, &p.node);
    MPI_Comm_free(&leaders);
  }
  MPI_Bcast(&p.node, 1, MPI_INT, 0, node_comm);
  MPI_Comm_free(&node_comm);
  return p;
}

// The colour that puts this rank in its group of `spec`, or nullopt when the spec does not apply
// to this layout (a node size that G does not divide).
std::optional<int> colour(const GroupSpec& spec, const Placement& p) {
  switch (spec.kind) {
    case GroupSpec::Kind::world:
      return 0;
    case GroupSpec::Kind::node:
      return p.node;
    case GroupSpec::Kind::rail:
      return p.local_rank;
    case GroupSpec::Kind::node_part:
      if (p.local_size % spec.part_ranks != 0)
        return std::nullopt;
      return p.node * 65536 + p.local_rank / spec.part_ranks;
  }
  return std::nullopt;
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<std::size_t>(std::max(0, length)));
  version = version.substr(0, version.find_first_of(",\n"));
  return version;
}

std::vector<std::string> host_names(MPI_Comm world, int world_rank, int world_size) {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  std::vector<char> all(static_cast<std::size_t>(MPI_MAX_PROCESSOR_NAME) * world_size);
  MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
             0, world);
  std::set<std::string> hosts;
  if (world_rank == 0) {
    for (int r = 0; r < world_size; ++r)
      hosts.insert(std::string(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME));
  }
  return {hosts.begin(), hosts.end()};
}

// Sizes are whole fp32 elements, and whole per-rank chunks where the collective splits.
std::size_t round_bytes(CollectiveOp op, double bytes, int ranks) {
  const bool chunked = op == CollectiveOp::all_gather || op == CollectiveOp::reduce_scatter ||
                       op == CollectiveOp::all_to_all;
  const double unit = chunked ? 4.0 * ranks : 4.0;
  return static_cast<std::size_t>(std::floor(bytes / unit) * unit);
}

}  // namespace

GroupSpec parse_group_spec(const std::string& spec) {
  if (spec == "world")
    return {GroupSpec::Kind::world, 0};
  if (spec == "node")
    return {GroupSpec::Kind::node, 0};
  if (spec == "rail")
    return {GroupSpec::Kind::rail, 0};
  if (spec.rfind("node:", 0) == 0) {
    const std::string digits = spec.substr(5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 6)
      throw std::invalid_argument("group '" + spec + "': expected node:G with G a rank count");
    const int g = std::stoi(digits);
    if (g < 1)
      throw std::invalid_argument("group '" + spec + "': G must be at least 1");
    return {GroupSpec::Kind::node_part, g};
  }
  throw std::invalid_argument("unknown group '" + spec + "'; use world, node, node:G or rail");
}

void check_ranks_per_node(int ranks_per_node, int world_size) {
  if (ranks_per_node >= 1 && world_size % ranks_per_node == 0)
    return;
  std::string valid;
  for (int n = 1; n <= world_size; ++n) {
    if (world_size % n == 0)
      valid += (valid.empty() ? "" : ", ") + std::to_string(n);
  }
  const std::string world = "a world of " + std::to_string(world_size) + " ranks";
  throw std::invalid_argument("--ranks-per-node " + std::to_string(ranks_per_node) +
                              (ranks_per_node < 1
                                   ? ": a node needs at least 1 rank; for " + world + ","
                                   : " does not divide " + world + ";") +
                              " use one of " + valid);
}

MeasurementRun run_collective_bench(CollectiveBackend& backend, const CollectiveBenchOptions& o,
                                    MPI_Comm world) {
  if (!(o.min_bytes >= 1) || o.max_bytes < o.min_bytes || !(o.factor > 1))
    throw std::invalid_argument("the size sweep needs 1 <= min <= max and a factor above 1");
  int world_size = 0;
  MPI_Comm_size(world, &world_size);
  if (o.ranks_per_node)
    check_ranks_per_node(*o.ranks_per_node, world_size);
  const Placement placement = place(world, o.ranks_per_node);
  const bool root = placement.world_rank == 0;
  MeasurementRun run;
  run.environment = backend.environment();
  run.environment.mpi = mpi_library_version();
  run.environment.hosts = host_names(world, placement.world_rank, world_size);
  run.source = run.environment.tool + " on " + std::to_string(world_size) + " ranks";
  if (o.ranks_per_node) {
    // The node split is the option's, not the hosts': a reader of the file must know that groups
    // "over several nodes" may have shared one host.
    run.source += " as " + std::to_string(world_size / *o.ranks_per_node) + " nodes of " +
                  std::to_string(*o.ranks_per_node) + " (--ranks-per-node " +
                  std::to_string(*o.ranks_per_node) + ")";
  }
  std::set<std::pair<int, int>> measured;  // (ranks, nodes) of the groups rank 0 has measured
  for (const std::string& spec : o.groups) {
    const std::optional<int> my_colour = colour(parse_group_spec(spec), placement);
    MPI_Comm group;
    MPI_Comm_split(world, my_colour.value_or(MPI_UNDEFINED), placement.world_rank, &group);
    // Rank 0 decides for everyone whether this spec adds a group shape, so that every rank runs
    // the same sequence of collectives.
    int ranks = 0, nodes = 0, skip = 1;
    if (group != MPI_COMM_NULL) {
      MPI_Comm_size(group, &ranks);
      std::vector<int> node_of(static_cast<std::size_t>(ranks));
      MPI_Allgather(&placement.node, 1, MPI_INT, node_of.data(), 1, MPI_INT, group);
      nodes = static_cast<int>(std::set<int>(node_of.begin(), node_of.end()).size());
    }
    if (root) {
      skip = group == MPI_COMM_NULL || ranks < 2 || measured.count({ranks, nodes}) ? 1 : 0;
      if (skip) {
        std::cerr << "group " << spec << ": " << ranks << " ranks over " << nodes
                  << " node(s), nothing new to measure\n";
      } else {
        std::cerr << "group " << spec << ": " << ranks << " ranks over " << nodes << " node(s)\n";
      }
      measured.insert({ranks, nodes});
    }
    MPI_Bcast(&skip, 1, MPI_INT, 0, world);
    if (skip || group == MPI_COMM_NULL) {
      if (group != MPI_COMM_NULL)
        MPI_Comm_free(&group);
      // Ranks outside every group of this spec still wait for the others to finish it.
      MPI_Barrier(world);
      continue;
    }
    std::unique_ptr<CollectiveGroup> g =
        backend.make_group(group, static_cast<std::size_t>(o.max_bytes));
    std::vector<double> targets = o.extra_bytes;
    for (double target = o.min_bytes; target <= o.max_bytes; target *= o.factor)
      targets.push_back(target);
    std::sort(targets.begin(), targets.end());
    for (CollectiveOp op : o.ops) {
      std::size_t previous = 0;
      for (const double target : targets) {
        const std::size_t bytes = round_bytes(op, target, ranks);
        if (bytes == 0 || bytes == previous || static_cast<double>(bytes) > o.max_bytes)
          continue;
        previous = bytes;
        for (int i = 0; i < o.warmup; ++i)
          g->start(op, bytes);
        g->synchronize();
        std::vector<double> samples;
        TrialAgreement agreement;
        // Every rank sees the same samples (the slowest rank's), so all decide alike when to stop.
        for (int r = 0; r < std::max(o.repeats, o.max_repeats); ++r) {
          if (r >= o.repeats && agreement.spread <= o.tolerance)
            break;
          MPI_Barrier(group);
          const double start = MPI_Wtime();
          for (int i = 0; i < o.iterations; ++i)
            g->start(op, bytes);
          g->synchronize();
          double local = (MPI_Wtime() - start) / o.iterations, slowest = 0;
          MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, group);
          samples.push_back(slowest);
          agreement = agreeing_trials(samples, o.agreeing);
        }
        if (!root)
          continue;
        CollectiveMeasurement m;
        m.op = op;
        m.algorithm = backend.algorithm();
        m.ranks = ranks;
        m.nodes = nodes;
        m.bytes = static_cast<double>(bytes);
        m.count = static_cast<std::int64_t>(bytes / 4);
        m.type = "float";
        const bool reduces = op == CollectiveOp::all_reduce || op == CollectiveOp::reduce_scatter;
        m.redop = reduces ? "sum" : "none";
        m.root = op == CollectiveOp::broadcast ? 0 : -1;
        m.time_s = agreement.time_s;
        m.algbw_bytes_per_s = m.bytes / m.time_s;
        m.busbw_bytes_per_s = m.algbw_bytes_per_s * bus_bandwidth_factor(op, ranks);
        m.repeats = static_cast<int>(samples.size());
        if (o.agreeing >= 2)
          m.agreement = {agreement.spread, agreement.trials};
        run.collectives.push_back(m);
      }
      if (root)
        std::cerr << "  " << to_string(op) << " done\n";
    }
    g.reset();
    MPI_Comm_free(&group);
    MPI_Barrier(world);
  }
  if (!root)
    return {};
  return run;
}

}  // namespace scaleplan
