// Collectives run by MPI itself on host memory: the CPU backend of the collective benchmarks
// (scaleplan-bench-mpi), which runs over loopback in CI and over the network of a CPU cluster.
#pragma once

#include "calibrate/collective_bench.hpp"

namespace scaleplan {

class MpiBackend final : public CollectiveBackend {
 public:
  Environment environment() const override;
  std::string algorithm() const override { return "mpi"; }
  std::unique_ptr<CollectiveGroup> make_group(MPI_Comm group, std::size_t max_bytes) override;
};

}  // namespace scaleplan
