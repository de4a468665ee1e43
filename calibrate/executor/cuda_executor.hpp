// The GPU backend of the executor: each rank's compute blocks as cuBLAS GEMMs of the plan's
// shapes and dtypes (attention as GEMMs of its shape until its FLOPs are done, the other kernels
// as device-to-device copies of their bytes), its collectives as NCCL collectives on one
// communicator per plan group (bootstrapped over the group's MPI communicator), its messages as
// NCCL sends and receives, each on a CUDA stream of the plan's stream and ordered by events on the
// op's dependencies, so that the plan's overlap is the GPU's. Each rank uses the GPU of its rank
// within its node (MPI_COMM_TYPE_SHARED). Built where CUDA, cuBLAS, NCCL and MPI are found.
#pragma once

#include <memory>

#include "calibrate/executor/mpi_executor.hpp"

namespace scaleplan {

// A BackendFactory for execute_on_mpi. Throws std::runtime_error when there is no GPU.
std::unique_ptr<ExecutionBackend> make_cuda_backend(const Plan& plan, const RankProgram& program,
                                                    MpiContext& context);

// Whether this process sees a CUDA device.
bool cuda_device_present();

}  // namespace scaleplan
