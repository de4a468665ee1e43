#include "cli/option_checks.hpp"

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {

const CLI::Validator finite_number(
    [](std::string& text) -> std::string {
      std::string problem;
      return decimal_number(text, problem) ? "" : problem;
    },
    "FINITE");

}  // namespace scaleplan
