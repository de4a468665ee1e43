// Collectives run by NCCL on GPU memory, one process per GPU (scaleplan-bench-nccl). Each group
// gets its own NCCL communicator, bootstrapped by broadcasting an ncclUniqueId over the group's
// MPI communicator, and its own stream; a rank uses the GPU of its rank within its node.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include "calibrate/collective_bench.hpp"

namespace scaleplan {

class NcclBackend final : public CollectiveBackend {
 public:
  // Selects the GPU numbered by this rank's rank among the ranks of its node.
  explicit NcclBackend(MPI_Comm world);
  Environment environment() const override;
  std::string algorithm() const override;
  std::unique_ptr<CollectiveGroup> make_group(MPI_Comm group, std::size_t max_bytes) override;

 private:
  int device_ = 0;
};

}  // namespace scaleplan
