// scaleplan-report-plots RESULTS DIR: a sweep's plots into DIR (gui/report/sweep_plots.hpp), the
// program `scaleplan report -o DIR` hands over to once it has printed the summary, so that
// scaleplan itself does not load Qt (some 30 ms at every start of every command). Prints the
// plots it wrote; exits 0, 1 when a file cannot be written, 2 for a file that is not a sweep's
// results or a wrong command line.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "gui/report/sweep_plots.hpp"
#include "hardware/input/diagnostics.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: scaleplan-report-plots RESULTS DIR (what scaleplan report -o DIR runs)\n";
    return 2;
  }
  const std::string results = argv[1];
  const std::string directory = argv[2];
  try {
    const auto plots =
        scaleplan::gui::write_sweep_plots(scaleplan::sweep::read_results(results), directory);
    std::cout << fmt::format("\nplots in {}, each as .svg and .png:\n",
                             scaleplan::printable_text(directory));
    for (const scaleplan::gui::SweepPlot& plot : plots)
      std::cout << fmt::format("  {:<40} {}\n", scaleplan::printable_text(plot.name),
                               scaleplan::printable_text(plot.what));
    std::cout.flush();
    return std::cout ? 0 : 1;
  } catch (const scaleplan::InputError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << scaleplan::printable_text(e.what()) << "\n";
    return 1;
  }
}
