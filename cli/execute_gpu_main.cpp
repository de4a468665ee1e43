// scaleplan-execute-gpu: `scaleplan execute --backend cuda` in a program of its own, which
// scaleplan hands the command line over to, so that only this one loads CUDA, cuBLAS and NCCL.
// Its command line is scaleplan's: `scaleplan-execute-gpu execute PLAN --backend cuda ...`.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/execute_command.hpp"
#include "cli/exit_codes.hpp"
#include "hardware/input/diagnostics.hpp"

int main(int argc, char** argv) {
  using namespace scaleplan;
  CLI::App app{"scaleplan-execute-gpu: scaleplan execute with the CUDA backend (docs/execute.md)"};
  app.require_subcommand(1);
  const auto run = add_execute_commands(app, std::vector<std::string>(argv, argv + argc));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_success : exit_bad_input;
  }
  try {
    return run();
  } catch (const InputError& e) {
    std::cerr << e.what() << "\n";
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::cerr << "error: " << printable_text(e.what()) << "\n";
    return exit_internal_error;
  }
}
