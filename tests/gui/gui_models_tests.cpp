// gui/models headless: the forms' fields and the reader's messages at them (the same text the
// command line prints), the simulation job (a run completes with the library's numbers and the
// plan's ops, cancel stops it, a newer run replaces an older one), the timeline's level of detail
// and the item models under QAbstractItemModelTester.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <QAbstractItemModelTester>
#include <QCoreApplication>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QTest>

#include "gui/models/prediction_models.hpp"
#include "gui/models/scenario_form.hpp"
#include "gui/models/simulation_job.hpp"
#include "gui/models/timeline_rows.hpp"
#include "hardware/input/yaml_reader.hpp"

using namespace scaleplan;
using namespace scaleplan::gui;

namespace {

const std::string small_scenario = SCALEPLAN_SOURCE_DIR "/scenarios/gpt3-1.3b-8xa100.yaml";
const std::string long_scenario = SCALEPLAN_SOURCE_DIR "/scenarios/gpt3-175b-64xa100.yaml";

std::string read(const std::string& path) {
  return read_input_file(path);
}

// What `scaleplan run FILE` prints on standard error.
std::string cli_errors(const std::string& yaml, const QTemporaryDir& dir) {
  const std::string file = dir.filePath("edited.yaml").toStdString();
  std::ofstream(file) << yaml;
  const std::string command = std::string(SCALEPLAN_BINARY) + " run " + file + " 2>&1";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe))
      output.append(buffer, n);
    pclose(pipe);
  }
  return output;
}

}  // namespace

class GuiModelsTest : public QObject {
  Q_OBJECT

 private slots:
  void fields_offer_the_catalog_and_the_presets() {
    const auto fields = scenario_fields(Catalog::builtin());
    const auto device = std::find_if(fields.begin(), fields.end(),
                                     [](const FieldSpec& f) { return f.key == "cluster.device"; });
    QVERIFY(device != fields.end());
    QVERIFY(std::count(device->choices.begin(), device->choices.end(), "A100-SXM4-80GB") == 1);
    QCOMPARE(device->choices.size(), Catalog::builtin().devices().size());
    const auto preset = std::find_if(fields.begin(), fields.end(),
                                     [](const FieldSpec& f) { return f.key == "model.preset"; });
    QVERIFY(std::count(preset->choices.begin(), preset->choices.end(), "gpt3-1.3b") == 1);
  }

  void a_field_value_is_written_read_back_and_removed() {
    const auto fields = scenario_fields(Catalog::builtin());
    const std::string text = read(small_scenario);
    const std::string edited = with_field_value(text, "s.yaml", "parallelism.cp", "2");
    QCOMPARE(field_values(edited, "s.yaml", fields).at("parallelism.cp"), std::string("2"));
    QCOMPARE(field_values(edited, "s.yaml", fields).at("cluster.device"),
             std::string("A100-SXM4-80GB"));
    const std::string removed = with_field_value(edited, "s.yaml", "parallelism.cp", "");
    QCOMPARE(field_values(removed, "s.yaml", fields).count("parallelism.cp"), std::size_t(0));
    const std::string network =
        with_field_value(text, "s.yaml", "cluster.network.topology", "fat-tree");
    QCOMPARE(field_values(network, "s.yaml", fields).at("cluster.network.topology"),
             std::string("fat-tree"));
    // Removing the only key of a section removes the section.
    QVERIFY(with_field_value(network, "s.yaml", "cluster.network.topology", "").find("network") ==
            std::string::npos);
  }

  void a_field_edit_keeps_the_comments_and_layout() {
    const std::string text =
        "# A scenario with comments.\n"
        "name: \"commented\"   # quoted, with a comment\n"
        "cluster:\n"
        "    device: A100-SXM4-80GB\n"
        "    nodes: 1  # one node\n"
        "\n"
        "# the model\n"
        "model:\n"
        "    preset: gpt3-1.3b\n"
        "parallelism:\n"
        "    tp: 1\n"
        "    pp: 2 # two stages\n";
    // A value replaced where it stands: the comment after it stays.
    QCOMPARE(with_field_value(text, "s.yaml", "cluster.nodes", "4"),
             std::string(text).replace(text.find("nodes: 1"), 8, "nodes: 4"));
    QCOMPARE(with_field_value(text, "s.yaml", "parallelism.pp", "4"),
             std::string(text).replace(text.find("pp: 2"), 5, "pp: 4"));
    // A key added after the last of its section, indented as the file is (four spaces); the
    // sections it needs are added with it.
    const std::string added =
        with_field_value(text, "s.yaml", "cluster.network.topology", "fat-tree");
    QCOMPARE(added, std::string(text).insert(text.find("\n\n# the model") + 1,
                                             "    network:\n        topology: fat-tree\n"));
    const std::string cp = with_field_value(text, "s.yaml", "parallelism.cp", "2");
    QCOMPARE(cp, text + "    cp: 2\n");
    const std::string training = with_field_value(text, "s.yaml", "training.micro_batch", "4");
    QCOMPARE(training, text + "training:\n    micro_batch: 4\n");
    // Removed: the key's line, and a section left empty with it; what was added goes back.
    QCOMPARE(with_field_value(added, "s.yaml", "cluster.network.topology", ""), text);
    QCOMPARE(with_field_value(cp, "s.yaml", "parallelism.cp", ""), text);
    QCOMPARE(with_field_value(text, "s.yaml", "model.preset", ""),
             std::string(text).erase(text.find("model:"),
                                     std::string("model:\n    preset: gpt3-1.3b\n").size()));
    // A value YAML must quote is quoted; the text still reads as the value typed.
    const std::string quoted = with_field_value(text, "s.yaml", "name", "a: b");
    QVERIFY2(quoted.find("# quoted, with a comment") != std::string::npos, quoted.c_str());
    QCOMPARE(field_values(quoted, "s.yaml", scenario_fields(Catalog::builtin())).at("name"),
             std::string("a: b"));
    // A flow section is written again as a whole: the value is right, the comments go.
    const std::string flow = "# comment\nparallelism: {tp: 1, pp: 2}\n";
    const std::string flowed = with_field_value(flow, "s.yaml", "parallelism.tp", "2");
    QCOMPARE(
        field_values(flowed, "s.yaml", scenario_fields(Catalog::builtin())).at("parallelism.tp"),
        std::string("2"));
  }

  void a_bad_value_gets_the_command_lines_message_at_its_field() {
    QTemporaryDir dir;
    const auto fields = scenario_fields(Catalog::builtin());
    const std::string file = dir.filePath("edited.yaml").toStdString();
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"parallelism.tp", "3"},
                                                          {"training.micro_batch", "abc"},
                                                          {"cluster.device", "A100-SMX4-80GB"}}) {
      const std::string yaml = with_field_value(read(small_scenario), file, key, value);
      const FormValidation validation =
          validate_scenario_text(yaml, file, Catalog::builtin(), fields);
      QVERIFY2(!validation.ok(), key.c_str());
      QVERIFY2(validation.by_field.count(key), key.c_str());
      const std::string cli = cli_errors(yaml, dir);
      // The whole line, file:line:column and key first, as `scaleplan run` prints it.
      for (const std::string& message : validation.by_field.at(key)) {
        QVERIFY2(message.starts_with(file + ":"), message.c_str());
        QVERIFY2(message.find(": " + key + ": ") != std::string::npos, message.c_str());
        QVERIFY2(cli.find(message) != std::string::npos, (cli + message).c_str());
      }
    }
    const FormValidation good =
        validate_scenario_text(read(small_scenario), file, Catalog::builtin(), fields);
    QVERIFY(good.ok());
    QVERIFY(good.by_field.empty());
  }

  void a_run_completes_with_the_librarys_numbers_and_the_plans_ops() {
    SimulationJobs jobs(Catalog::builtin());
    QSignalSpy finished(&jobs, &SimulationJobs::finished);
    QSignalSpy progress(&jobs, &SimulationJobs::progress);
    jobs.start({read(small_scenario), small_scenario});
    QVERIFY(finished.wait(60000));
    QVERIFY(!progress.isEmpty());
    const RunResult& run = *jobs.result();
    const Scenario scenario = load_scenario(small_scenario, Catalog::builtin());
    const Prediction expected = predict(scenario, prepare_run(scenario, Catalog::builtin()));
    QCOMPARE(run.prediction.step_time_s, expected.step_time_s);
    QCOMPARE(run.prediction.mfu, expected.mfu);
    std::size_t plan_ops = 0;
    for (const RankProgram& rank : run.plan.ranks)
      plan_ops += rank.ops.size();
    QCOMPARE(run.timeline.ops.size(), plan_ops);
    QCOMPARE(run.timeline.ranks.size(), run.plan.ranks.size());
    QCOMPARE(double(run.timeline.end_ps()) * 1e-12, run.prediction.step_time_s);
    // Every link's utilisation, integrated from its rates, is what `run --links` ranks.
    QVERIFY(!run.prediction.busiest_links.empty());
    for (const LinkUsage& busy : run.prediction.busiest_links)
      QVERIFY(std::abs(run.link_utilization(busy.link) - busy.utilization) <=
              1e-9 * busy.utilization);
  }

  void cancel_stops_a_long_run() {
    SimulationJobs jobs(Catalog::builtin());
    QSignalSpy progress(&jobs, &SimulationJobs::progress);
    QSignalSpy cancelled(&jobs, &SimulationJobs::cancelled);
    QSignalSpy finished(&jobs, &SimulationJobs::finished);
    const std::uint64_t job = jobs.start({read(long_scenario), long_scenario});
    // Once it simulates, stop it.
    QVERIFY(QTest::qWaitFor(
        [&] {
          return std::any_of(progress.begin(), progress.end(), [](const QList<QVariant>& args) {
            return args[1].toString() == "simulating";
          });
        },
        60000));
    jobs.cancel();
    QVERIFY(cancelled.wait(30000));
    QCOMPARE(cancelled.front().front().toULongLong(), job);
    QVERIFY(finished.isEmpty());
    QVERIFY(!jobs.running());
    QVERIFY(!jobs.result());
  }

  void a_newer_run_replaces_an_older_one() {
    SimulationJobs jobs(Catalog::builtin());
    QSignalSpy finished(&jobs, &SimulationJobs::finished);
    QSignalSpy cancelled(&jobs, &SimulationJobs::cancelled);
    jobs.start({read(long_scenario), long_scenario});
    const std::string edited =
        with_field_value(read(small_scenario), small_scenario, "name", "the-newer-run");
    const std::uint64_t newer = jobs.start({edited, small_scenario});
    QVERIFY(finished.wait(60000));
    QTest::qWait(200);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(finished.front().front().toULongLong(), newer);
    QCOMPARE(jobs.result()->prediction.scenario, std::string("the-newer-run"));
    QVERIFY(cancelled.isEmpty());  // replaced, not cancelled by the user
  }

  void a_bad_scenario_fails_with_the_readers_message() {
    SimulationJobs jobs(Catalog::builtin());
    QSignalSpy failed(&jobs, &SimulationJobs::failed);
    jobs.start(
        {with_field_value(read(small_scenario), "bad.yaml", "parallelism.tp", "3"), "bad.yaml"});
    QVERIFY(failed.wait(30000));
    QVERIFY(failed.front()[1].toString().contains("bad.yaml"));
    QVERIFY(failed.front()[1].toString().contains("parallelism.tp"));
  }

  void a_plan_search_ranks_what_the_planner_ranks() {
    const std::string search_scenario_path =
        SCALEPLAN_SOURCE_DIR "/scenarios/planner/gpt3-1.3b-16xa100-search.yaml";
    SimulationJobs jobs(Catalog::builtin());
    QSignalSpy finished(&jobs, &SimulationJobs::search_finished);
    jobs.start_search({read(search_scenario_path), search_scenario_path});
    QVERIFY(finished.wait(120000));
    const PlanSearch& search = jobs.search()->search;
    QVERIFY(!search.ranked.empty());
    // The library's own search on the same values ranks the same plans.
    const Scenario scenario =
        load_scenario(search_scenario_path, Catalog::builtin(), ScenarioUse::plan);
    const ClusterNetwork network = prepare_network(scenario, Catalog::builtin());
    const auto compute = make_compute_model(scenario.cluster.device);
    SearchOptions options;
    options.settings = run_settings(scenario);
    const PlanSearch expected =
        search_plans(scenario.search.value_or(SearchSpace{}), scenario.cluster, network, *compute,
                     scenario.job, options);
    QCOMPARE(search.ranked.size(), expected.ranked.size());
    QCOMPARE(search.ranked.front().step_time_s, expected.ranked.front().step_time_s);
    RankedPlanModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.set_search(jobs.search());
    QCOMPARE(model.rowCount(), int(expected.ranked.size()));
    QCOMPARE(model.index(0, RankedPlanModel::step_time).data().toString(),
             format_duration(expected.ranked.front().step_time_s));
    model.set_search(nullptr);
    QCOMPARE(model.rowCount(), 0);
  }

  void level_of_detail_costs_pixels_not_ops() {
    // One row of a million 1-ns ops and a long one after them, drawn on 1,000 pixels.
    Timeline timeline;
    timeline.ranks = {0};
    timeline.labels = {"op"};
    const std::int64_t n = 1'000'000;
    for (std::int64_t i = 0; i < n; ++i)
      timeline.ops.push_back({0, std::uint32_t(i), 0, -1, OpKind::compute, Stream::compute, 0,
                              i * 1000, i * 1000 + 900});
    timeline.ops.push_back(
        {0, std::uint32_t(n), 0, -1, OpKind::compute, Stream::compute, 0, n * 1000, 2 * n * 1000});
    const std::vector<TimelineRow> rows = timeline_rows(timeline);
    QCOMPARE(rows.size(), std::size_t(1));
    const auto segments = row_segments(timeline, rows[0], 0, 2 * n * 1000, 1000);
    // The million small ops fill the first 500 pixels, at most one segment per pixel, and stand
    // for every op; the long one is a segment of its own.
    QVERIFY(segments.size() <= 600);
    std::uint64_t ops = 0;
    for (const RowSegment& s : segments)
      ops += s.ops;
    QCOMPARE(ops, std::uint64_t(n + 1));
    QCOMPARE(segments.back().ops, 1u);
    QCOMPARE(segments.back().x0, 500);
    QCOMPARE(segments.back().x1, 1000);
    // Zoomed in to 10 ops, each gets its own segment.
    const auto zoomed = row_segments(timeline, rows[0], 0, 10'000, 1000);
    QCOMPARE(zoomed.size(), std::size_t(10));
    QCOMPARE(op_at(timeline, rows[0], 5'500).value(), 5u);
    QVERIFY(!op_at(timeline, rows[0], 5'950).has_value());
  }

  void item_models_pass_the_model_tester() {
    SimulationJobs jobs(Catalog::builtin());
    QSignalSpy finished(&jobs, &SimulationJobs::finished);
    jobs.start({read(small_scenario), small_scenario});
    QVERIFY(finished.wait(60000));
    SummaryModel summary;
    QAbstractItemModelTester summary_tester(&summary,
                                            QAbstractItemModelTester::FailureReportingMode::QtTest);
    summary.set_prediction(&jobs.result()->prediction);
    QVERIFY(summary.rowCount() > 5);
    QCOMPARE(summary.index(4, 0).data().toString(), QString("step time"));
    QCOMPARE(summary.index(4, 1).data().toString(),
             format_duration(jobs.result()->prediction.step_time_s));

    CompareModel compare;
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&compare);
    proxy.setSortRole(Qt::UserRole);
    QAbstractItemModelTester compare_tester(&compare,
                                            QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester proxy_tester(&proxy,
                                          QAbstractItemModelTester::FailureReportingMode::QtTest);
    compare.add(jobs.result());
    compare.add(jobs.result());  // the same scenario replaces its row
    QCOMPARE(compare.rowCount(), 1);
    jobs.start(
        {with_field_value(read(small_scenario), small_scenario, "name", "second"), small_scenario});
    QVERIFY(finished.wait(60000));
    compare.add(jobs.result());
    QCOMPARE(compare.rowCount(), 2);
    proxy.sort(CompareModel::step_time);
    QVERIFY(proxy.index(0, CompareModel::step_time).data(Qt::UserRole).toDouble() <=
            proxy.index(1, CompareModel::step_time).data(Qt::UserRole).toDouble());
    compare.clear();
    QCOMPARE(proxy.rowCount(), 0);
  }
};

QTEST_GUILESS_MAIN(GuiModelsTest)
#include "gui_models_tests.moc"
