// A simulation as a job for a window (after hotspot's JobTracker): the inputs are copied in, the
// work runs on a thread of its own, progress arrives on the GUI thread by queued calls, a stop
// token cancels it, and a newer run replaces an older one, whose result is then dropped. The
// work itself is the library's: parse_scenario, prepare_run and predict, with a
// TimelineRecorder, exactly what `scaleplan run` calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <QObject>
#include <QString>

#include "hardware/input/progress.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/topology.hpp"
#include "sim/capacity/capacity.hpp"
#include "sim/plan/plan.hpp"
#include "sim/planner/planner.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/timeline/timeline.hpp"

namespace scaleplan::gui {

struct RunRequest {
  std::string yaml_text;
  std::string file_label;  // the scenario's path: errors name it, a calibration resolves by it
  // The most events the recorded timeline may hold: past it, evenly spaced ranks are recorded.
  std::uint64_t max_timeline_events = 1'000'000;
  int top_plans = 20;  // a plan search: the plans simulated in full and ranked
};

// What a finished run hands the views: all values, shared read-only between them.
struct RunResult {
  RunResult();
  Scenario scenario;
  Plan plan;
  Prediction prediction;
  Timeline timeline;
  std::string timeline_note;
  Topology topology;  // the cluster's network the run simulated on
  // Bytes each link carried over the step (index: LinkId), flows and fast-path traffic alike:
  // what `scaleplan run --links` ranks, for every link.
  std::vector<double> link_bytes;
  // The share of the step `link` was busy: its bytes over its bandwidth times the step time.
  double link_utilization(
      LinkId link) const;  // which ranks the timeline holds, when not all of them
};

// A plan search over the scenario's cluster, model and batch (its search: section, if any,
// limiting the axes): what `scaleplan plan` prints, as values.
struct SearchResult {
  Scenario scenario;
  PlanSearch search;
};

// The capacity planner over a capacity spec (docs/capacity.md): each cluster's best plan, time to
// train, cost rented or bought, and the time/cost Pareto front, as `scaleplan capacity` reports.
struct CapacityResult {
  std::string spec;  // its file
  capacity::CapacityReport report;
};

// The ranks of `plan` whose timeline fits in `max_events` (timeline_event_bound): all of them
// (empty) when it fits, else evenly spaced listed ranks, at least one.
std::vector<int> timeline_ranks(const Plan& plan, std::uint64_t max_events);

// Runs `request` on the calling thread; reports to `progress` (may be null); throws
// RunCancelled once `stop` is requested, InputError for a bad scenario, std::exception else.
struct RunCancelled {};
RunResult run_scenario(const RunRequest& request, const Catalog& catalog, ProgressSink* progress,
                       std::stop_token stop);
// The capacity planner on a capacity spec (request.yaml_text), progress per cluster searched; a
// stop ends it before the next cluster.
CapacityResult capacity_plan(const RunRequest& request, const Catalog& catalog,
                             ProgressSink* progress, std::stop_token stop);
// The planner on the scenario (read as `scaleplan plan` reads it), the same way.
SearchResult search_scenario(const RunRequest& request, const Catalog& catalog,
                             ProgressSink* progress, std::stop_token stop);

class SimulationJobs : public QObject {
  Q_OBJECT

 public:
  // `catalog` must outlive the jobs.
  explicit SimulationJobs(const Catalog& catalog, QObject* parent = nullptr);
  // Stops every run and waits for its thread.
  ~SimulationJobs() override;

  // Starts a run and returns its id; a job in progress is stopped and its result dropped.
  std::uint64_t start(RunRequest request);
  // Starts a plan search (search_scenario) the same way; search_finished reports it.
  std::uint64_t start_search(RunRequest request);
  // Starts the capacity planner on a spec the same way; capacity_finished reports it.
  std::uint64_t start_capacity(RunRequest request);
  // Stops the current run; `cancelled` follows once its thread has stopped.
  void cancel();
  bool running() const { return running_; }
  std::uint64_t current() const { return current_; }
  // The last finished run's result; null before one.
  std::shared_ptr<const RunResult> result() const { return result_; }
  // The last finished plan search; null before one.
  std::shared_ptr<const SearchResult> search() const { return search_; }
  // The last finished capacity planner's report; null before one.
  std::shared_ptr<const CapacityResult> capacity() const { return capacity_; }

 signals:
  void started(quint64 job);
  // The current job's progress: `done` of `total` `units` of `task`.
  void progress(quint64 job, const QString& task, quint64 done, quint64 total,
                const QString& units);
  void finished(quint64 job);           // result() holds it
  void search_finished(quint64 job);    // search() holds it
  void capacity_finished(quint64 job);  // capacity() holds it
  void failed(quint64 job, const QString& message);
  void cancelled(quint64 job);

 private:
  enum class Kind { run, search, capacity };
  using Outcome = std::shared_ptr<const void>;
  using Work = std::function<Outcome(ProgressSink*, std::stop_token)>;
  std::uint64_t launch(Kind kind, Work work);
  void deliver(std::uint64_t job, Kind kind, Outcome outcome, std::optional<QString> error,
               bool was_cancelled);
  void reap_threads();

  const Catalog& catalog_;
  std::uint64_t current_ = 0;
  bool running_ = false;
  std::stop_source stop_;
  std::shared_ptr<const RunResult> result_;
  std::shared_ptr<const SearchResult> search_;
  std::shared_ptr<const CapacityResult> capacity_;
  struct Worker {
    std::shared_ptr<std::atomic<bool>> done;
    std::jthread thread;
  };
  std::vector<Worker> threads_;
};

}  // namespace scaleplan::gui
