// libFuzzer target: the scanners of other tools' text (calibrate/text_scan.hpp), run with inputs
// of hundreds of kilobytes (scripts/fuzz gives line parsers a large -max_len): a regular
// expression they replaced overflowed the stack on a 30 KB line. Each must return, and what it
// returns must be a part of the line it was given.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "calibrate/text_scan.hpp"

namespace {

void check_within(std::string_view line, const std::optional<std::string>& found) {
  if (found && line.find(*found) == std::string_view::npos)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  for (std::string_view word : identifier_words(line)) {
    if (word.empty() || word.data() < line.data() || word.data() + word.size() > line.end())
      __builtin_trap();
  }
  const std::optional<std::string> binary = nccl_tests_binary_in(line);
  check_within(line, binary);
  if (binary && line.find(*binary + "_perf") == std::string_view::npos)
    __builtin_trap();
  (void)names_mpi_launcher(line);
  check_within(line, nccl_version_in(line));
  check_within(line, nvidia_module_version_in(line));
  return 0;
}
