#include "sim/capacity/goodput.hpp"

#include <cmath>
#include <limits>

namespace scaleplan::capacity {

const FailureRates& llama3_failure_rates() {
  // 419 unexpected interruptions in 54 days on 16,384 H100 in 2,048 nodes of 8. The device's own
  // causes (faulty GPU 148, HBM3 72, SRAM 19, GPU system processor 17: 256) per GPU; the other
  // 163 (software, network switches and cables, host maintenance, NICs, ...) per node.
  static const FailureRates rates{
      {16384.0 * 54 * 24 / 256,
       "Llama 3 herd paper (arXiv:2407.21783), table 5: 419 unexpected interruptions in a 54-day "
       "snapshot on 16,384 H100; the GPU's own causes (faulty GPU 148, HBM3 72, SRAM 19, system "
       "processor 17) are 256: 16,384 GPUs x 1,296 h / 256 = 82,944 h per GPU"},
      {2048.0 * 54 * 24 / 163,
       "Llama 3 herd paper (arXiv:2407.21783), table 5: the other 163 of the 419 unexpected "
       "interruptions (software bugs, network switches and cables, host maintenance, NICs, "
       "power, CPUs, ...) over its 2,048 nodes of 8 GPUs: 2,048 x 1,296 h / 163 = 16,283 h per "
       "node"}};
  return rates;
}

double job_mtbf_s(int devices, int nodes, const FailureRates& rates) {
  const double per_hour = devices / rates.device_mtbf_h.value + nodes / rates.node_mtbf_h.value;
  return per_hour > 0 ? 3600.0 / per_hour : std::numeric_limits<double>::infinity();
}

double young_checkpoint_interval_s(double write_s, double mtbf_s) {
  return std::sqrt(2 * write_s * mtbf_s);
}

double optimal_checkpoint_interval_s(double write_s, double mtbf_s) {
  if (write_s >= 2 * mtbf_s)
    return mtbf_s;
  const double x = write_s / (2 * mtbf_s);
  return young_checkpoint_interval_s(write_s, mtbf_s) * (1 + std::sqrt(x) / 3 + x / 9) - write_s;
}

double expected_wall_time_s(double solve_s, double interval_s, double write_s, double restart_s,
                            double mtbf_s) {
  if (std::isinf(mtbf_s))
    return solve_s * (interval_s + write_s) / interval_s;
  // expm1 keeps the small-exponent case (rare failures) exact.
  return mtbf_s * std::exp(restart_s / mtbf_s) * std::expm1((interval_s + write_s) / mtbf_s) *
         solve_s / interval_s;
}

Goodput goodput(const GoodputInputs& in) {
  Goodput g;
  g.job_mtbf_s = job_mtbf_s(in.devices, in.nodes, in.failures);
  g.checkpoint_write_s = in.checkpoint_bytes / in.checkpoint.write_bytes_per_s;
  g.restart_s = in.checkpoint.restart_s + in.checkpoint_bytes / in.checkpoint.read_bytes_per_s;
  if (std::isinf(g.job_mtbf_s)) {
    // Nothing fails: one checkpoint at the end is all a run needs.
    g.checkpoint_interval_s = in.solve_s;
  } else {
    g.checkpoint_interval_s = optimal_checkpoint_interval_s(g.checkpoint_write_s, g.job_mtbf_s);
  }
  g.wall_s = expected_wall_time_s(in.solve_s, g.checkpoint_interval_s, g.checkpoint_write_s,
                                  g.restart_s, g.job_mtbf_s);
  g.expected_failures = std::isinf(g.job_mtbf_s) ? 0 : g.wall_s / g.job_mtbf_s;
  g.goodput = in.solve_s > 0 ? in.solve_s / g.wall_s : 1;
  return g;
}

DataRate data_rate(double compute_tokens_per_s, int nodes, const DataPipeline& pipeline) {
  constexpr double unlimited = std::numeric_limits<double>::infinity();
  const double storage = pipeline.storage_read_bytes_per_s > 0 && pipeline.bytes_per_token > 0
                             ? pipeline.storage_read_bytes_per_s / pipeline.bytes_per_token
                             : unlimited;
  const double hosts = pipeline.host_tokens_per_s_per_node > 0
                           ? pipeline.host_tokens_per_s_per_node * nodes
                           : unlimited;
  DataRate rate;
  rate.pipeline_tokens_per_s = std::min(storage, hosts);
  rate.tokens_per_s = std::min(compute_tokens_per_s, rate.pipeline_tokens_per_s);
  if (rate.pipeline_tokens_per_s < compute_tokens_per_s)
    rate.bottleneck =
        storage <= hosts ? DataBottleneck::storage_read : DataBottleneck::host_preprocessing;
  return rate;
}

}  // namespace scaleplan::capacity
