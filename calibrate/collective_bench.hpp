// The collective benchmarks, one process per device, bootstrapped with MPI: the driver splits
// the world into groups of several shapes (all ranks, each node, sub-groups of a node, one rank
// per node), sweeps every collective over message sizes in each, and writes one measurement run
// from rank 0. The backend runs the collectives: NCCL in scaleplan-bench-nccl, MPI itself in
// scaleplan-bench-mpi.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mpi.h>

#include "calibrate/measurements.hpp"

namespace scaleplan {

// A communicator over one group, with send and receive buffers for the largest message.
class CollectiveGroup {
 public:
  virtual ~CollectiveGroup() = default;
  // Starts one collective over `bytes` (nccl-tests' size: see CollectiveProfile) of fp32 data,
  // a multiple of 4 · group size.
  virtual void start(CollectiveOp op, std::size_t bytes) = 0;
  // Returns when everything started has finished on this rank.
  virtual void synchronize() = 0;
};

class CollectiveBackend {
 public:
  virtual ~CollectiveBackend() = default;
  // Device, driver and library versions; the driver adds hosts and the MPI version.
  virtual Environment environment() const = 0;
  virtual std::string algorithm() const = 0;  // "nccl", "mpi"
  // Collective over the members of `group` (every member calls it).
  virtual std::unique_ptr<CollectiveGroup> make_group(MPI_Comm group, std::size_t max_bytes) = 0;
};

struct CollectiveBenchOptions {
  double min_bytes = 8;
  double max_bytes = 8.0 * (1ull << 30);
  double factor = 2;
  // Sizes timed besides the geometric sweep from min_bytes to max_bytes (a plan's own messages,
  // --plan); each at most max_bytes.
  std::vector<double> extra_bytes;
  std::vector<CollectiveOp> ops{CollectiveOp::all_reduce,     CollectiveOp::all_gather,
                                CollectiveOp::reduce_scatter, CollectiveOp::all_to_all,
                                CollectiveOp::broadcast,      CollectiveOp::send_recv};
  // world, node, node:G (G consecutive ranks of a node), rail (one rank per node).
  std::vector<std::string> groups{"world", "node", "node:2", "rail"};
  // Absent: a node is the ranks that share memory (MPI_COMM_TYPE_SHARED). Set: every
  // ranks_per_node consecutive world ranks form one node (node = rank / N, local rank =
  // rank % N), to emulate several nodes on one host or to follow a launcher's known block layout.
  std::optional<int> ranks_per_node;
  int warmup = 5;
  int iterations = 20;  // per timed sample
  int repeats = 5;      // timed samples at first
  // The kept time is the median of the `agreeing` samples that agree best (agreeing_trials, on
  // the slowest rank's time of each sample, which every rank knows); while they disagree by more
  // than `tolerance` (range over median), more samples are taken, up to `max_repeats` in all.
  int agreeing = 3;
  int max_repeats = 15;
  double tolerance = 0.05;
};

// Throws std::invalid_argument, naming the option, the world size and the values that would be
// valid, unless `ranks_per_node` splits `world_size` ranks into whole nodes (at least 1, and a
// divisor of the world size).
void check_ranks_per_node(int ranks_per_node, int world_size);

// A group shape of --groups: every rank, a node, G consecutive ranks of a node, or one rank per
// node.
struct GroupSpec {
  enum class Kind { world, node, node_part, rail };
  Kind kind = Kind::world;
  int part_ranks = 0;  // node_part: G
};
// Reads "world", "node", "node:G" or "rail". Throws std::invalid_argument naming the spec and
// what would be valid.
GroupSpec parse_group_spec(const std::string& spec);

// Collective over `world`. Returns the run on world rank 0, an empty run elsewhere. Throws
// std::invalid_argument for a bad group spec or ranks_per_node.
MeasurementRun run_collective_bench(CollectiveBackend& backend,
                                    const CollectiveBenchOptions& options, MPI_Comm world);

}  // namespace scaleplan
