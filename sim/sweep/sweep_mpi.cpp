#include "sim/sweep/sweep_mpi.hpp"

#include <mpi.h>

#include <chrono>
#include <deque>
#include <thread>

#include <nlohmann/json.hpp>

#include "hardware/input/parallel_for.hpp"

namespace scaleplan::sweep {

namespace {

using Json = nlohmann::json;

constexpr int tag_rows = 1;   // worker to rank 0: {"want": n, "rows": [...]}
constexpr int tag_batch = 2;  // rank 0 to worker: [index, ...]; empty: no more

Json encode(const SweepRow& r) {
  Json j{{"index", r.index}, {"values", r.values}};
  if (r.error) {
    j["error"] = *r.error;
    return j;
  }
  j["device"] = r.device;
  j["ints"] = {r.devices, r.dp, r.microbatches};
  j["reals"] = {r.step_time_s, r.tokens_per_s,      r.model_tflops_per_device,
                r.mfu,         r.peak_memory_bytes, r.memory_capacity_bytes,
                r.compute_s,   r.exposed_comm_s,    r.bubble_s};
  j["fits"] = r.fits;
  const auto optional = [](const std::optional<double>& v) { return v ? Json(*v) : Json(); };
  j["optional"] = {optional(r.power_w), optional(r.energy_per_step_j), optional(r.usd_per_hour),
                   optional(r.usd_per_step)};
  return j;
}

SweepRow decode(const Json& j) {
  SweepRow r;
  r.index = j.at("index").get<std::size_t>();
  r.values = j.at("values").get<std::vector<std::string>>();
  if (j.contains("error")) {
    r.error = j["error"].get<std::string>();
    return r;
  }
  r.device = j.at("device").get<std::string>();
  const auto& ints = j.at("ints");
  r.devices = ints.at(0).get<int>();
  r.dp = ints.at(1).get<int>();
  r.microbatches = ints.at(2).get<int>();
  const auto& reals = j.at("reals");
  double* fields[] = {&r.step_time_s, &r.tokens_per_s,      &r.model_tflops_per_device,
                      &r.mfu,         &r.peak_memory_bytes, &r.memory_capacity_bytes,
                      &r.compute_s,   &r.exposed_comm_s,    &r.bubble_s};
  for (std::size_t i = 0; i < std::size(fields); ++i)
    *fields[i] = reals.at(i).get<double>();
  r.fits = j.at("fits").get<bool>();
  std::optional<double>* optionals[] = {&r.power_w, &r.energy_per_step_j, &r.usd_per_hour,
                                        &r.usd_per_step};
  const auto& o = j.at("optional");
  for (std::size_t i = 0; i < std::size(optionals); ++i) {
    if (!o.at(i).is_null())
      *optionals[i] = o.at(i).get<double>();
  }
  return r;
}

void send_text(const std::string& text, int to, int tag) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

std::string receive_text(int from, int tag, int& source) {
  MPI_Status status;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(static_cast<std::size_t>(count), '\0');
  MPI_Recv(text.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  source = status.MPI_SOURCE;
  return text;
}

// Rank 0: hands out batches, writes rows. Waits with short sleeps rather than in MPI_Probe,
// which spins a core in Open MPI.
SweepSummary coordinate(const MpiSession& session, const SweepRunner& runner, ResultStore& store,
                        const SweepOptions& options) {
  const Sweep& sweep = runner.sweep();
  SweepSummary summary;
  summary.scenarios = sweep.size();
  const std::vector<std::size_t> scenarios = pending_scenarios(sweep, options.done);
  std::deque<std::size_t> pending(scenarios.begin(), scenarios.end());
  summary.skipped = sweep.size() - pending.size();
  const std::size_t to_run = pending.size();
  ProgressCounter counter(options.progress, "sweep", "scenarios", to_run);
  int working = session.size() - 1;  // ranks not yet told to stop
  while (working > 0) {
    int arrived = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, tag_rows, MPI_COMM_WORLD, &arrived, &status);
    if (arrived == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    int source = 0;
    const Json message = Json::parse(receive_text(status.MPI_SOURCE, tag_rows, source));
    for (const Json& j : message.at("rows")) {
      const SweepRow row = decode(j);
      store.write(row);
      ++summary.ran;
      if (!row.ok())
        ++summary.failed;
      counter.advance({}, 1, row.ok() ? 0 : 1);
    }
    const bool stop = options.stop && options.stop();
    std::vector<std::size_t> batch;
    const auto want = message.at("want").get<std::size_t>();
    while (!stop && batch.size() < want && !pending.empty()) {
      batch.push_back(pending.front());
      pending.pop_front();
    }
    if (batch.empty())
      --working;
    send_text(Json(batch).dump(), source, tag_batch);
  }
  summary.stopped = summary.ran < to_run;
  if (!summary.stopped)
    counter.finish();
  return summary;
}

// Another rank: asks for a batch of one scenario per thread, runs it, sends the rows with the
// next request.
SweepSummary work(const SweepRunner& runner, const SweepOptions& options) {
  SweepSummary summary;
  const int threads = worker_threads(options.threads);
  std::vector<SweepRunner::WorkspacePtr> workspaces(static_cast<std::size_t>(threads));
  Json rows = Json::array();
  for (;;) {
    send_text(Json{{"want", threads}, {"rows", rows}}.dump(), 0, tag_rows);
    int source = 0;
    const auto batch =
        Json::parse(receive_text(0, tag_batch, source)).get<std::vector<std::size_t>>();
    if (batch.empty())
      return summary;
    std::vector<SweepRow> done(batch.size());
    parallel_for(batch.size(), threads, [&](std::size_t i, int worker) {
      auto& workspace = workspaces[static_cast<std::size_t>(worker)];
      if (!workspace)
        workspace = runner.workspace();
      done[i] = runner.run(batch[i], *workspace);
    });
    rows = Json::array();
    for (const SweepRow& row : done) {
      rows.push_back(encode(row));
      ++summary.ran;
      if (!row.ok())
        ++summary.failed;
    }
  }
}

}  // namespace

SweepSummary run_sweep_mpi(const MpiSession& session, const SweepRunner& runner, ResultStore* store,
                           const SweepOptions& options) {
  if (session.size() < 2) {
    // One rank: no one to hand batches to; run here.
    return run_sweep(runner, options, [&](const SweepRow& row) { store->write(row); });
  }
  if (session.rank() == 0)
    return coordinate(session, runner, *store, options);
  return work(runner, options);
}

}  // namespace scaleplan::sweep
