#include "cli/bench/collective_bench_cli.hpp"

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/output_file.hpp"

#include "cli/bench/bench_cli.hpp"
#include "sim/plan/plan_io.hpp"

namespace scaleplan {

namespace {

double size_option(const std::string& text, const char* name) {
  auto bytes = parse_byte_size(text);
  if (!bytes || *bytes < 1)
    throw CLI::ValidationError(name,
                               "expected a size such as 8, 64K, 1M or 8G, got '" + text + "'");
  return *bytes;
}

}  // namespace

int collective_bench_main(int argc, char** argv, const std::string& program,
                          const std::function<std::unique_ptr<CollectiveBackend>()>& make_backend) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  CLI::App app{program +
               ": time collectives over message sizes and group shapes into a "
               "scaleplan measurements file (docs/calibration.md); run one process per "
               "device under mpirun or srun"};
  CollectiveBenchOptions o;
  std::string output, min_bytes = "8", max_bytes = "8G";
  std::vector<std::string> ops;
  app.add_option("-o,--output", output, "Measurements YAML to write (by rank 0)")->required();
  app.add_option("-b,--min-bytes", min_bytes, "Smallest message (default 8)");
  app.add_option("-e,--max-bytes", max_bytes, "Largest message (default 8G)");
  app.add_option("-f,--factor", o.factor, "Ratio of successive sizes (default 2)")
      ->check(CLI::Range(1.001, 1e6));
  std::vector<std::string> plans;
  app.add_option("--plan", plans,
                 "Also time the collective and message sizes of this plan file (run "
                 "--dump-plan), raising --max-bytes to its largest")
      ->type_name("FILE");
  app.add_option("--collectives", ops, "Collectives to time (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(collective_op_names.names()));
  app.add_option("--groups", o.groups, "Group shapes: world, node, node:G, rail")->delimiter(',');
  int ranks_per_node = 0;
  app.add_option("--ranks-per-node", ranks_per_node,
                 "Every N consecutive ranks form one node (default: the ranks that share "
                 "memory); emulates several nodes on one host");
  app.add_option("--warmup", o.warmup, "Untimed collectives per size")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--iterations", o.iterations, "Collectives per timed sample")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", o.repeats, "Timed samples per size at first")
      ->check(CLI::PositiveNumber);
  app.add_option("--agreeing", o.agreeing,
                 "Samples that must agree within --tolerance; the median of those that agree "
                 "best is kept (default 3)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--max-repeats", o.max_repeats,
                 "Samples per size at most, while the agreeing ones disagree (default 15)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--tolerance", o.tolerance,
                 "How far (range over median) the agreeing samples may disagree (default 0.05)")
      ->check(CLI::Range(0.0, 10.0));
  try {
    app.parse(argc, argv);
    o.min_bytes = size_option(min_bytes, "--min-bytes");
    o.max_bytes = size_option(max_bytes, "--max-bytes");
  } catch (const CLI::ParseError& e) {
    const int code = rank == 0 ? app.exit(e) : e.get_exit_code();
    MPI_Finalize();
    return code == 0 ? 0 : 2;
  }
  try {
    if (app.count("--ranks-per-node")) {
      int world_size = 0;
      MPI_Comm_size(MPI_COMM_WORLD, &world_size);
      check_ranks_per_node(ranks_per_node, world_size);
      o.ranks_per_node = ranks_per_node;
    }
    for (const std::string& spec : o.groups)
      parse_group_spec(spec);
  } catch (const std::invalid_argument& e) {
    // Every rank finds the same error before any collective; rank 0 says it, all end cleanly.
    if (rank == 0)
      std::cerr << program << ": " << e.what() << "\n";
    MPI_Finalize();
    return 2;
  }
  try {
    // Every rank reads the plans, so that each sweeps the same sizes.
    for (const std::string& file : plans) {
      for (const RankProgram& listed : read_plan(file).ranks) {
        for (const Op& op : listed.ops) {
          if (op.kind != OpKind::compute && op.bytes > 0)
            o.extra_bytes.push_back(op.bytes);
        }
      }
    }
  } catch (const std::exception& e) {
    if (rank == 0)
      std::cerr << program << ": " << e.what() << "\n";
    MPI_Finalize();
    return 2;
  }
  std::sort(o.extra_bytes.begin(), o.extra_bytes.end());
  o.extra_bytes.erase(std::unique(o.extra_bytes.begin(), o.extra_bytes.end()), o.extra_bytes.end());
  if (!o.extra_bytes.empty())
    o.max_bytes = std::max(o.max_bytes, o.extra_bytes.back());
  if (!ops.empty()) {
    o.ops.clear();
    for (const auto& name : ops)
      o.ops.push_back(*collective_op_names.parse(name));
  }
  try {
    std::unique_ptr<CollectiveBackend> backend = make_backend();
    const MeasurementRun run = run_collective_bench(*backend, o, MPI_COMM_WORLD);
    backend.reset();
    if (rank == 0) {
      Measurements measurements;
      measurements.runs.push_back(run);
      write_output_file(output, write_measurements(measurements));
      std::cerr << "wrote " << output << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << program << " (rank " << rank << "): " << e.what() << "\n";
    // The other ranks may be waiting in a collective this rank will never join; only an abort
    // ends them.
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return 0;
}

}  // namespace scaleplan
