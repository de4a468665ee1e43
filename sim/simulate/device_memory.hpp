// Device memory a rank holds beside what its plan allocates: the buffers of the NCCL
// communicators it belongs to, and the headroom the framework's caching allocator reserves but
// has not handed out at the peak.
#pragma once

#include <vector>

#include "hardware/device_spec.hpp"
#include "sim/plan/plan.hpp"

namespace scaleplan {

// NCCL gives every connection to a peer, on every channel, one staging buffer per protocol.
struct NcclBufferFigures {
  Figure simple_bytes;
  Figure ll_bytes;
  Figure ll128_bytes;
  Figure collective_channels;    // channels of a collective communicator
  Figure p2p_channels_per_peer;  // channels a point-to-point peer over the network gets
  double connection_bytes() const {
    return simple_bytes.value + ll_bytes.value + ll128_bytes.value;
  }
};
const NcclBufferFigures& nccl_buffer_figures();

// Bytes of NCCL buffers on each listed rank of `plan` (index: as in plan.ranks). A communicator
// (a plan group of two or more ranks, listed or not) connects each member to its ring neighbour
// on every collective channel; a rank receiving from a pipeline peer connects to it on the
// point-to-point channels. Each connection holds one buffer per protocol (Simple, LL, LL128); it
// is counted once, at the receiving rank, which is where NCCL puts LL and LL128 and, over the
// network, Simple too.
std::vector<double> nccl_buffer_bytes(const Plan& plan);
// The same for one rank, from what it connects to: `communicators` groups of two or more ranks
// and `senders` point-to-point peers it receives from.
double nccl_buffer_bytes(int communicators, int senders);

// The peak of activation memory on each listed rank of `plan` (index: as in plan.ranks), the
// same bytes the simulator reports, found without simulating: only compute ops allocate (at their
// start) and free (at their end) activations, and a rank's compute stream runs its ops one at a
// time in program order, so the peak is the highest running sum over that order whatever the
// timing. O(ops).
std::vector<double> activation_peak_bytes(const Plan& plan);

// Reserved-but-unallocated memory of PyTorch's caching allocator at the peak, as a fraction of
// all it has reserved: the scenario key memory.allocator_headroom_fraction defaults to this.
const Figure& default_allocator_headroom_fraction();

// Headroom over `allocated_bytes` (what the framework allocates through its caching allocator)
// such that the headroom is `fraction` of allocated plus headroom. Throws std::invalid_argument
// for a fraction outside [0, 1).
double allocator_headroom_bytes(double allocated_bytes, double fraction);

// The headroom fraction that applies on a device of `kind`: `fraction` on GPUs, where PyTorch's
// CUDA caching allocator keeps freed blocks reserved; 0 elsewhere: XLA (TPU) assigns every
// buffer of a compiled step ahead of time, and FPGA and CPU ranks allocate what they use.
double allocator_headroom_fraction_on(DeviceKind kind, double fraction);

}  // namespace scaleplan
