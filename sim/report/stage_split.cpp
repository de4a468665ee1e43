#include "sim/report/stage_split.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "sim/scenario/stage_balance.hpp"

namespace scaleplan {

namespace {

StageSplitTrial trial_of(const std::vector<std::int64_t>& layers, const Prediction& p) {
  StageSplitTrial t;
  t.stage_layers = layers;
  t.step_time_s = p.step_time_s;
  t.fits = p.memory.fits;
  double sum = 0, most = 0;
  for (const StepBreakdown& s : p.stage_breakdown) {
    t.stage_busy_s.push_back(s.busy_s());
    sum += s.busy_s();
    most = std::max(most, s.busy_s());
  }
  const double mean = t.stage_busy_s.empty() ? 0 : sum / static_cast<double>(t.stage_busy_s.size());
  t.imbalance = mean > 0 ? most / mean - 1 : 0;
  return t;
}

// Fitting splits before those that do not, then the shorter step; ties keep the one simulated
// first (the caller offers them in a fixed order).
bool better(const StageSplitTrial& a, const StageSplitTrial& b) {
  if (a.fits != b.fits)
    return a.fits;
  return a.step_time_s < b.step_time_s;
}

class SplitSearch {
 public:
  SplitSearch(const PredictionInputs& inputs, int budget) : inputs_(inputs), budget_(budget) {}

  // The split simulated (once: a split seen before is looked up).
  const StageSplitTrial& simulate(const std::vector<std::int64_t>& layers) {
    if (auto found = seen_.find(layers); found != seen_.end())
      return found->second.first;
    TrainingJob job = inputs_.job;
    job.parallelism.stage_layers = layers;
    job.parallelism.balance_by_time = false;
    Prediction p =
        predict({inputs_.cluster, job, inputs_.compute, inputs_.network, inputs_.settings});
    ++simulations_;
    StageSplitTrial t = trial_of(layers, p);
    return seen_.emplace(layers, std::make_pair(std::move(t), std::move(p))).first->second.first;
  }
  bool can_simulate() const { return simulations_ < budget_; }
  int simulations() const { return simulations_; }
  const Prediction& prediction_of(const std::vector<std::int64_t>& layers) const {
    return seen_.at(layers).second;
  }

 private:
  const PredictionInputs& inputs_;
  int budget_;
  int simulations_ = 0;
  std::map<std::vector<std::int64_t>, std::pair<StageSplitTrial, Prediction>> seen_;
};

}  // namespace

StageSplitProposal propose_stage_split(const PredictionInputs& inputs, int max_simulations) {
  const ParallelismSpec& p = inputs.job.parallelism;
  if (p.pp < 2)
    throw std::invalid_argument("one pipeline stage: there is no split to balance");
  if (p.schedule == PipelineSchedule::interleaved_1f1b)
    throw std::invalid_argument("stage_layers does not apply to the interleaved schedule");
  if (inputs.job.model.layers < p.pp)
    throw std::invalid_argument(
        "more stages than layers: the end stages hold the embedding or "
        "the output head alone, there is no split to balance");
  SplitSearch search(inputs, std::max(2, max_simulations));
  StageSplitProposal out;
  const std::vector<std::int64_t> uniform = chunk_layers(inputs.job.model.layers, p.pp);
  TrainingJob unsplit = inputs.job;
  unsplit.parallelism.stage_layers.clear();
  const std::vector<std::int64_t> estimated = balanced_stage_layers(unsplit, inputs.cluster);
  out.uniform = search.simulate(uniform);
  out.estimated = search.simulate(estimated);
  StageSplitTrial best = better(out.estimated, out.uniform) ? out.estimated : out.uniform;
  // Hill climbing: the best neighbour (one layer across one boundary), while it is better.
  for (bool improved = true; improved && search.can_simulate();) {
    improved = false;
    const StageSplitTrial from = best;
    for (std::size_t b = 0; b + 1 < from.stage_layers.size() && search.can_simulate(); ++b) {
      for (const int direction : {-1, 1}) {
        std::vector<std::int64_t> next = from.stage_layers;
        // -1: stage b gives a layer to stage b + 1; +1: takes one from it.
        const std::size_t giver = direction < 0 ? b : b + 1;
        const std::size_t taker = direction < 0 ? b + 1 : b;
        if (next[giver] < 2 || !search.can_simulate())
          continue;
        --next[giver];
        ++next[taker];
        const StageSplitTrial& t = search.simulate(next);
        if (better(t, best)) {
          best = t;
          improved = true;
        }
      }
    }
  }
  out.proposed = best;
  out.proposed_prediction = search.prediction_of(best.stage_layers);
  out.simulations = search.simulations();
  return out;
}

std::string stage_layers_yaml(const std::vector<std::int64_t>& stage_layers) {
  return fmt::format("stage_layers: [{}]", fmt::join(stage_layers, ", "));
}

namespace {

std::string percent_faster(double base_s, double s) {
  return base_s > 0 ? fmt::format("{:.1f} %", 100 * (base_s - s) / base_s) : "-";
}

// The devices of each stage's ranks (rank r runs on device r), by catalog name.
std::vector<std::string> stage_devices(const ClusterSpec& cluster, const ParallelismSpec& p) {
  const int per_stage = p.tp * p.cp * p.dp;
  std::vector<std::string> out;
  for (int s = 0; s < p.pp; ++s) {
    std::vector<std::string> names;
    for (int d = s * per_stage; d < (s + 1) * per_stage && d < cluster.device_count(); ++d) {
      const std::string& name = cluster.device_at(d).name;
      if (std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(name);
    }
    out.push_back(fmt::format("{}", fmt::join(names, ", ")));
  }
  return out;
}

nlohmann::json trial_json(const StageSplitTrial& t) {
  return {{"stage_layers", t.stage_layers},
          {"step_time_s", t.step_time_s},
          {"stage_busy_s", t.stage_busy_s},
          {"imbalance", t.imbalance},
          {"fits", t.fits}};
}

}  // namespace

std::string format_stage_split_text(const StageSplitProposal& proposal, const std::string& scenario,
                                    const ClusterSpec& cluster, const ParallelismSpec& p) {
  std::string out;
  out += "scenario   " + scenario + "\n";
  out += fmt::format("pipeline   {} stages (tp {}, pp {}, dp {}, {}), {} layers\n\n", p.pp, p.tp,
                     p.pp, p.dp, to_string(p.schedule), [&] {
                       std::int64_t n = 0;
                       for (const std::int64_t l : proposal.uniform.stage_layers)
                         n += l;
                       return n;
                     }());
  out += fmt::format("{:<16} {:>10} {:>10} {:>10}  {}\n", "split", "step", "imbalance", "faster",
                     "layers per stage");
  const auto row = [&](std::string_view name, const StageSplitTrial& t) {
    out +=
        fmt::format("{:<16} {:>8.3f} s {:>8.1f} % {:>10}  {}{}\n", name, t.step_time_s,
                    100 * t.imbalance, percent_faster(proposal.uniform.step_time_s, t.step_time_s),
                    fmt::join(t.stage_layers, " "), t.fits ? "" : "  DOES NOT FIT");
  };
  row("uniform", proposal.uniform);
  row("by layer time", proposal.estimated);
  row("proposed", proposal.proposed);
  out += fmt::format("\nstages of the proposed split (step {:.3f} s)\n",
                     proposal.proposed.step_time_s);
  out += fmt::format("  {:>5} {:>6} {:>10} {:>10}  {}\n", "stage", "layers", "busy", "uniform",
                     "devices");
  const std::vector<std::string> devices = stage_devices(cluster, p);
  for (std::size_t s = 0; s < proposal.proposed.stage_layers.size(); ++s) {
    out += fmt::format(
        "  {:>5} {:>6} {:>8.3f} s {:>8.3f} s  {}\n", s, proposal.proposed.stage_layers[s],
        s < proposal.proposed.stage_busy_s.size() ? proposal.proposed.stage_busy_s[s] : 0.0,
        s < proposal.uniform.stage_busy_s.size() ? proposal.uniform.stage_busy_s[s] : 0.0,
        s < devices.size() ? devices[s] : "");
  }
  out += fmt::format(
      "\n{} splits simulated. A stage's time: its busiest rank's compute and exposed\n"
      "communication; the imbalance: the slowest stage's time over the mean, less 1.\n",
      proposal.simulations);
  out += "paste under parallelism:\n  " + stage_layers_yaml(proposal.proposed.stage_layers) + "\n";
  return out;
}

std::string format_stage_split_json(const StageSplitProposal& proposal,
                                    const std::string& scenario) {
  const nlohmann::json out{{"scenario", scenario},
                           {"uniform", trial_json(proposal.uniform)},
                           {"by_layer_time", trial_json(proposal.estimated)},
                           {"proposed", trial_json(proposal.proposed)},
                           {"simulations", proposal.simulations},
                           {"yaml", stage_layers_yaml(proposal.proposed.stage_layers)}};
  return out.dump(2) + "\n";
}

}  // namespace scaleplan
