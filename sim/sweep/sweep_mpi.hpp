// A sweep across the ranks of an MPI job (`mpirun -np N scaleplan sweep ...`): rank 0 hands out
// scenarios in small batches to whichever rank asks (dynamic distribution: a rank that draws
// slow scenarios asks less often) and writes every row to the one results file; the other ranks
// run their batches on every core and send the rows back. A rank that dies loses only the batch
// it was running; the rows rank 0 has written stay, and --resume runs the rest. Built where MPI
// is found (target scaleplan::sweep_mpi); every rank must be able to read the sweep file.
#pragma once

#include <functional>
#include <string>

#include "sim/mpi/mpi_session.hpp"
#include "sim/sweep/sweep_output.hpp"
#include "sim/sweep/sweep_run.hpp"

namespace scaleplan::sweep {

// Runs `runner`'s sweep across the session's ranks; every rank calls it. On rank 0, `store` (the
// open results file) receives every row and `options.done` says what it holds already;
// `options.progress` reports there. On the other ranks `store` is null and `options.threads`
// threads run each batch. Returns rank 0's summary (the others' count what they ran).
SweepSummary run_sweep_mpi(const MpiSession& session, const SweepRunner& runner, ResultStore* store,
                           const SweepOptions& options);

}  // namespace scaleplan::sweep
