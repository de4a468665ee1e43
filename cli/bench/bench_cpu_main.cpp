// scaleplan-bench-cpu: the compute benchmarks with the Eigen backend.
#include "calibrate/cpu_backend.hpp"
#include "cli/bench/bench_cli.hpp"

int main(int argc, char** argv) {
  // A CPU shares its cores with whatever else runs: three trials in separate passes, repeated up
  // to eight while they disagree by more than 3 %, each sample timed on the thread's CPU time.
  scaleplan::TimingOptions timing;
  timing.trials = 3;
  timing.max_trials = 8;
  timing.clock = scaleplan::SampleClock::thread_cpu;
  return scaleplan::compute_bench_main(
      argc, argv, "scaleplan-bench-cpu", [] { return std::make_unique<scaleplan::CpuBackend>(); },
      timing);
}
