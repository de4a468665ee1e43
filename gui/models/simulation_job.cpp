#include "gui/models/simulation_job.hpp"

#include <QMetaObject>
#include <QPointer>

#include "sim/capacity/capacity_search.hpp"
#include "sim/capacity/capacity_spec.hpp"
#include "sim/planner/planner.hpp"
#include "sim/simulate/simulation_progress.hpp"
#include "sim/simulate/timeline_recorder.hpp"

namespace scaleplan::gui {
namespace {

// Throws RunCancelled from inside the simulation once a stop is requested: the engine has no
// cancel of its own, and an observer hears of every op.
class StopObserver final : public SimulationObserver {
 public:
  explicit StopObserver(std::stop_token stop) : stop_(std::move(stop)) {}
  void on_op(int, std::uint32_t, SimTime, SimTime) override {
    if (stop_.stop_requested())
      throw RunCancelled{};
  }

 private:
  std::stop_token stop_;
};

// Integrates each link's rate over the step into the bytes it carried.
class LinkBytes final : public SimulationObserver {
 public:
  explicit LinkBytes(std::size_t links) : bytes_(links, 0), rate_(links, 0), since_(links, 0) {}
  bool observes_link_rates() const override { return true; }
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override {
    if (link >= bytes_.size())
      return;
    bytes_[link] += rate_[link] * double(time - since_[link]) * 1e-12;
    rate_[link] = bytes_per_s;
    since_[link] = time;
  }
  std::vector<double> finish(SimTime end) {
    for (std::size_t l = 0; l < bytes_.size(); ++l)
      bytes_[l] += rate_[l] * double(std::max<SimTime>(0, end - since_[l])) * 1e-12;
    return std::move(bytes_);
  }

 private:
  std::vector<double> bytes_;
  std::vector<double> rate_;
  std::vector<SimTime> since_;
};

void check(const std::stop_token& stop) {
  if (stop.stop_requested())
    throw RunCancelled{};
}

}  // namespace

// Topology has no empty state of its own: a one-device network stands in until a run fills it.
RunResult::RunResult() : topology(Topology::custom(1, 0, {})) {}

double RunResult::link_utilization(LinkId link) const {
  if (link >= link_bytes.size() || prediction.step_time_s <= 0)
    return 0;
  return link_bytes[link] / (topology.link(link).bandwidth_bytes_per_s * prediction.step_time_s);
}

std::vector<int> timeline_ranks(const Plan& plan, std::uint64_t max_events) {
  if (plan.ranks.empty() || timeline_event_bound(plan, {}) <= max_events)
    return {};
  const std::uint64_t one = std::max<std::uint64_t>(1, timeline_event_bound(plan, [&] {
                                                      TimelineSelection first;
                                                      first.ranks = {plan.ranks.front().rank};
                                                      return first;
                                                    }()));
  const std::size_t fit = std::max<std::uint64_t>(1, max_events / one);
  std::vector<int> ranks;
  const std::size_t listed = plan.ranks.size();
  for (std::size_t i = 0; i < fit && i < listed; ++i)
    ranks.push_back(plan.ranks[i * listed / fit].rank);
  return ranks;
}

RunResult run_scenario(const RunRequest& request, const Catalog& catalog, ProgressSink* progress,
                       std::stop_token stop) {
  auto result = std::make_unique<RunResult>();
  ProgressCounter reading(progress, "reading the scenario", "steps", 3);
  result->scenario = parse_scenario(request.yaml_text, request.file_label, catalog);
  reading.advance("building the network");
  check(stop);
  PreparedRun run = prepare_run(result->scenario, catalog);
  reading.advance("building the plan");
  check(stop);
  reading.finish();

  const std::vector<int> ranks = timeline_ranks(run.plan, request.max_timeline_events);
  if (!ranks.empty())
    result->timeline_note = "timeline of " + std::to_string(ranks.size()) + " of the " +
                            std::to_string(run.plan.ranks.size()) + " simulated ranks";
  TimelineSelection selection;
  selection.ranks = ranks;
  selection.max_events = request.max_timeline_events;
  TimelineRecorder recorder(run.plan, false, selection);
  SimulationProgress simulating(run.plan, progress);
  StopObserver stopper(stop);
  LinkBytes link_bytes(run.network.topology.link_count());
  result->prediction =
      predict(result->scenario, run, {&stopper, &recorder, &simulating, &link_bytes});
  simulating.finish();
  result->timeline = std::move(recorder).timeline();
  result->link_bytes = link_bytes.finish(result->timeline.end_ps());
  result->plan = std::move(run.plan);
  result->topology = std::move(run.network.topology);
  return std::move(*result);
}

SearchResult search_scenario(const RunRequest& request, const Catalog& catalog,
                             ProgressSink* progress, std::stop_token stop) {
  SearchResult result;
  result.scenario =
      parse_scenario(request.yaml_text, request.file_label, catalog, ScenarioUse::plan);
  const Scenario& scenario = result.scenario;
  check(stop);
  const ClusterNetwork network = prepare_network(scenario, catalog);
  const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
  const auto compute =
      make_compute_model(scenario.cluster.device, profile, scenario.calibration.value_or(""));
  check(stop);
  SearchOptions options;
  options.top_k = request.top_plans;
  options.settings = run_settings(scenario);
  options.stop = stop;
  options.progress = search_progress_to(progress);
  result.search = search_plans(scenario.search.value_or(SearchSpace{}), scenario.cluster, network,
                               *compute, scenario.job, options);
  if (result.search.cancelled)
    throw RunCancelled{};
  return result;
}

CapacityResult capacity_plan(const RunRequest& request, const Catalog& catalog,
                             ProgressSink* progress, std::stop_token stop) {
  const capacity::CapacitySpec spec =
      capacity::parse_capacity_spec(request.yaml_text, request.file_label, catalog);
  ProgressCounter counter(progress, "capacity", "clusters searched", spec.options.size());
  const capacity::PlanFinder planner = capacity::planner_finder(catalog);
  CapacityResult result;
  result.spec = request.file_label;
  result.report = capacity::evaluate_capacity(
      spec, [&](const capacity::ClusterOption& option, const TrainingJob& base, int top_k) {
        check(stop);
        capacity::PlanOutcome outcome = planner(option, base, top_k);
        counter.advance(option.name);
        return outcome;
      });
  counter.finish();
  return result;
}

namespace {

// Posts each update to the GUI thread, at most one per percent.
class QueuedProgress final : public ProgressSink {
 public:
  QueuedProgress(QPointer<SimulationJobs> jobs, std::uint64_t job, std::stop_token stop)
      : jobs_(std::move(jobs)), job_(job), stop_(std::move(stop)) {}

  void report(const ProgressUpdate& update) override {
    const std::uint64_t percent = update.total ? update.done * 100 / update.total : 0;
    if (update.task == last_task_ && percent == last_percent_ && update.done != update.total)
      return;
    last_task_ = update.task;
    last_percent_ = percent;
    if (stop_.stop_requested())
      return;
    QMetaObject::invokeMethod(
        jobs_.data(),
        [jobs = jobs_, job = job_,
         task = QString::fromUtf8(update.task.data(), qsizetype(update.task.size())),
         done = update.done, total = update.total,
         units = QString::fromUtf8(update.units.data(), qsizetype(update.units.size()))] {
          if (jobs && jobs->current() == job)
            emit jobs->progress(job, task, done, total, units);
        },
        Qt::QueuedConnection);
  }

 private:
  QPointer<SimulationJobs> jobs_;
  std::uint64_t job_;
  std::stop_token stop_;
  std::string last_task_;
  std::uint64_t last_percent_ = 0;
};

}  // namespace

SimulationJobs::SimulationJobs(const Catalog& catalog, QObject* parent)
    : QObject(parent), catalog_(catalog) {}

SimulationJobs::~SimulationJobs() {
  stop_.request_stop();
  threads_.clear();  // joins each thread
}

std::uint64_t SimulationJobs::start(RunRequest request) {
  return launch(
      Kind::run,
      [request = std::move(request), &catalog = catalog_](ProgressSink* sink,
                                                          std::stop_token stop) -> Outcome {
        return std::make_shared<const RunResult>(run_scenario(request, catalog, sink, stop));
      });
}

std::uint64_t SimulationJobs::start_search(RunRequest request) {
  return launch(
      Kind::search,
      [request = std::move(request), &catalog = catalog_](ProgressSink* sink,
                                                          std::stop_token stop) -> Outcome {
        return std::make_shared<const SearchResult>(search_scenario(request, catalog, sink, stop));
      });
}

std::uint64_t SimulationJobs::start_capacity(RunRequest request) {
  return launch(
      Kind::capacity,
      [request = std::move(request), &catalog = catalog_](ProgressSink* sink,
                                                          std::stop_token stop) -> Outcome {
        return std::make_shared<const CapacityResult>(capacity_plan(request, catalog, sink, stop));
      });
}

std::uint64_t SimulationJobs::launch(Kind kind, Work work) {
  stop_.request_stop();  // the older job, if any: its result will be dropped
  reap_threads();
  stop_ = std::stop_source();
  const std::uint64_t job = ++current_;
  running_ = true;
  emit started(job);
  QPointer<SimulationJobs> self(this);
  auto done = std::make_shared<std::atomic<bool>>(false);
  threads_.push_back({done, std::jthread([self, job, kind, work = std::move(work),
                                          stop = stop_.get_token(), done] {
                        QueuedProgress sink(self, job, stop);
                        Outcome outcome;
                        std::optional<QString> error;
                        bool was_cancelled = false;
                        try {
                          outcome = work(&sink, stop);
                        } catch (const RunCancelled&) {
                          was_cancelled = true;
                        } catch (const std::exception& e) {
                          error = QString::fromStdString(printable_text(e.what()));
                        }
                        QMetaObject::invokeMethod(
                            self.data(),
                            [self, job, kind, outcome, error, was_cancelled] {
                              if (self)
                                self->deliver(job, kind, outcome, error, was_cancelled);
                            },
                            Qt::QueuedConnection);
                        done->store(true);
                      })});
  return job;
}

void SimulationJobs::cancel() {
  if (running_)
    stop_.request_stop();
}

void SimulationJobs::deliver(std::uint64_t job, Kind kind, Outcome outcome,
                             std::optional<QString> error, bool was_cancelled) {
  reap_threads();
  if (job != current_)
    return;  // a newer run replaced this one
  running_ = false;
  if (was_cancelled) {
    emit cancelled(job);
  } else if (error) {
    emit failed(job, *error);
  } else if (kind == Kind::run) {
    result_ = std::static_pointer_cast<const RunResult>(outcome);
    emit finished(job);
  } else if (kind == Kind::search) {
    search_ = std::static_pointer_cast<const SearchResult>(outcome);
    emit search_finished(job);
  } else {
    capacity_ = std::static_pointer_cast<const CapacityResult>(outcome);
    emit capacity_finished(job);
  }
}

void SimulationJobs::reap_threads() {
  // Threads whose work is over (they have posted their result) are joined; one still running
  // finishes on its own stop token and is joined later.
  std::erase_if(threads_, [](const Worker& worker) { return worker.done->load(); });
}

}  // namespace scaleplan::gui
