#include "sim/sweep/sweep_run.hpp"

#include <deque>
#include <future>
#include <map>
#include <mutex>

#include <yaml-cpp/yaml.h>

#include "hardware/input/parallel_for.hpp"
#include "sim/capacity/economics.hpp"
#include "sim/engine/time.hpp"
#include "sim/scenario/scenario_node.hpp"
#include "sim/sweep/sweep_yaml.hpp"

namespace scaleplan::sweep {

namespace {

// A cluster made ready once for every scenario that has it.
struct PreparedCluster {
  ClusterNetwork network;
  std::unique_ptr<ComputeModel> compute;
};
using PreparedPtr = std::shared_ptr<const PreparedCluster>;

// One line: the rows of CSV and JSON lines files hold one scenario a line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r')
      c = ' ';
  }
  return text;
}

std::string error_text(const InputError& e) {
  std::string text;
  for (const Diagnostic& d : e.diagnostics()) {
    if (!text.empty())
      text += "; ";
    text += d.key.empty() ? d.message : d.key + ": " + d.message;
  }
  return one_line(std::move(text));
}

}  // namespace

class SweepRunner::Workspace {
 public:
  explicit Workspace(const Sweep& sweep) : base(YAML::Load(sweep.base_yaml)) {
    for (const Axis& axis : sweep.axes) {
      std::vector<YAML::Node> parsed;
      for (const std::string& text : axis.yaml)
        parsed.push_back(YAML::Load(text));
      values.push_back(std::move(parsed));
    }
  }
  YAML::Node base;
  std::vector<std::vector<YAML::Node>> values;  // [axis][value]
};

void SweepRunner::WorkspaceDeleter::operator()(Workspace* w) const {
  delete w;
}

struct SweepRunner::Cache {
  std::mutex mutex;
  std::map<std::string, std::shared_future<PreparedPtr>> entries;
  std::deque<std::string> order;  // oldest first
  std::size_t prepared = 0;
};

SweepRunner::SweepRunner(const Sweep& sweep, const Catalog& catalog, RunSettings settings)
    : sweep_(sweep), catalog_(catalog), settings_(settings), cache_(std::make_unique<Cache>()) {}

SweepRunner::~SweepRunner() = default;

SweepRunner::WorkspacePtr SweepRunner::workspace() const {
  return WorkspacePtr(new Workspace(sweep_));
}

std::size_t SweepRunner::clusters_prepared() const {
  const std::lock_guard lock(cache_->mutex);
  return cache_->prepared;
}

namespace {

YAML::Node scenario_tree(const Sweep& sweep, const std::vector<std::uint32_t>& indices,
                         const YAML::Node& base,
                         const std::vector<std::vector<YAML::Node>>& values) {
  YAML::Node root = YAML::Clone(base);
  for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
    // A copy: a node set into another tree joins the two trees' memory for as long as either
    // lives, so the workspace's values would gather every scenario's tree (and each clone and
    // lookup would then walk them all).
    if (auto problem = set_key(root, sweep.axes[a].key, YAML::Clone(values[a][indices[a]])))
      throw InputError({{{sweep.file, 0, 0}, sweep.axes[a].key, *problem}});
  }
  return root;
}

}  // namespace

Scenario SweepRunner::scenario(std::size_t index, Workspace& w) const {
  const YAML::Node root = scenario_tree(sweep_, sweep_.value_indices(index), w.base, w.values);
  return parse_scenario_node(root, sweep_.base_file, catalog_);
}

SweepRow SweepRunner::run(std::size_t index, Workspace& w) const {
  SweepRow row;
  row.index = index;
  const std::vector<std::uint32_t> indices = sweep_.value_indices(index);
  for (std::size_t a = 0; a < sweep_.axes.size(); ++a)
    row.values.push_back(sweep_.axes[a].values[indices[a]]);
  try {
    const YAML::Node root = scenario_tree(sweep_, indices, w.base, w.values);
    const Scenario scenario = parse_scenario_node(root, sweep_.base_file, catalog_);

    // The cluster as written (after the axes) and its calibration decide its network and compute
    // model: the same text, the same prepared cluster.
    std::string key = YAML::Dump(root["cluster"]);
    key += "\ncalibration: " + scenario.calibration.value_or("");
    std::shared_future<PreparedPtr> future;
    std::optional<std::promise<PreparedPtr>> build;
    {
      const std::lock_guard lock(cache_->mutex);
      if (auto found = cache_->entries.find(key); found != cache_->entries.end()) {
        future = found->second;
      } else {
        build.emplace();
        future = build->get_future().share();
        cache_->entries.emplace(key, future);
        cache_->order.push_back(key);
        ++cache_->prepared;
        if (cache_->order.size() > cluster_cache_size) {
          cache_->entries.erase(cache_->order.front());
          cache_->order.pop_front();
        }
      }
    }
    if (build) {
      try {
        const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
        build->set_value(std::make_shared<const PreparedCluster>(
            PreparedCluster{prepare_network(scenario, catalog_),
                            make_compute_model(scenario.cluster.device, profile,
                                               scenario.calibration.value_or("?"))}));
      } catch (...) {
        build->set_exception(std::current_exception());
      }
    }
    const PreparedPtr prepared = future.get();

    Prediction p;
    try {
      p = predict({scenario.cluster, scenario.job, *prepared->compute, prepared->network,
                   run_settings(scenario, settings_)});
    } catch (const TimeOverflow& overflow) {
      throw time_overflow_error(scenario, overflow);
    }
    row.device = p.device;
    row.devices = p.devices;
    row.dp = p.parallelism.dp;
    row.microbatches = p.microbatches;
    row.step_time_s = p.step_time_s;
    row.tokens_per_s = p.tokens_per_s;
    row.model_tflops_per_device = p.model_tflops_per_device;
    row.mfu = p.mfu;
    row.peak_memory_bytes = p.memory.peak_bytes;
    row.memory_capacity_bytes = p.memory.capacity_bytes;
    row.fits = p.memory.fits;
    row.compute_s = p.breakdown.compute_s;
    row.exposed_comm_s = p.breakdown.exposed_comm_s;
    row.bubble_s = p.breakdown.bubble_s;
    const DeviceSpec& device = scenario.cluster.device;
    const capacity::ClusterSize size{p.devices, scenario.cluster.nodes, 0};
    if (device.power_w.value > 0) {
      row.power_w = capacity::facility_power_w(size, device.power_w.value, {0, 1, 0});
      row.energy_per_step_j = *row.power_w * p.step_time_s;
    }
    if (device.price_usd_per_hour) {
      const capacity::RentPrice price{*device.price_usd_per_hour};
      row.usd_per_hour = capacity::rent_cost(size, price, 3600).usd;
      row.usd_per_step = capacity::rent_cost(size, price, p.step_time_s).usd;
    }
  } catch (const InputError& e) {
    row.error = error_text(e);
  } catch (const std::exception& e) {
    row.error = one_line(e.what());
  }
  return row;
}

std::vector<std::size_t> pending_scenarios(const Sweep& sweep, const std::vector<bool>& done) {
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < sweep.size(); ++i) {
    if (i >= done.size() || !done[i])
      pending.push_back(i);
  }
  return pending;
}

SweepSummary run_sweep(const SweepRunner& runner, const SweepOptions& options,
                       const std::function<void(const SweepRow&)>& write) {
  const Sweep& sweep = runner.sweep();
  SweepSummary summary;
  summary.scenarios = sweep.size();
  const std::vector<std::size_t> pending = pending_scenarios(sweep, options.done);
  summary.skipped = sweep.size() - pending.size();
  const int threads = worker_threads(options.threads);
  std::vector<SweepRunner::WorkspacePtr> workspaces(static_cast<std::size_t>(threads));
  std::mutex write_mutex;
  ProgressCounter counter(options.progress, "sweep", "scenarios", pending.size());
  const auto stop = [&] { return options.stop && options.stop(); };
  parallel_for(
      pending.size(), threads,
      [&](std::size_t i, int worker) {
        auto& workspace = workspaces[static_cast<std::size_t>(worker)];
        if (!workspace)
          workspace = runner.workspace();
        const SweepRow row = runner.run(pending[i], *workspace);
        const std::lock_guard lock(write_mutex);
        write(row);
        ++summary.ran;
        if (!row.ok())
          ++summary.failed;
        counter.advance({}, 1, row.ok() ? 0 : 1);
      },
      stop);
  summary.stopped = summary.ran < pending.size();
  if (!summary.stopped)
    counter.finish();
  return summary;
}

}  // namespace scaleplan::sweep
