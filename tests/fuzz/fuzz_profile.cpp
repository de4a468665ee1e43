// libFuzzer target: the calibration profile reader. Any input must either parse or throw
// InputError; a profile that parses must write back to text that reads to the same profile.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "hardware/io/profile_io.hpp"
#include "hardware/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Profile profile;
  try {
    profile = parse_profile(text, "fuzz-profile.yaml");
  } catch (const InputError&) {
    return 0;
  }
  const std::string once = write_profile(profile);
  const std::string twice = write_profile(parse_profile(once, "fuzz-profile-rewritten.yaml"));
  if (once != twice)
    std::abort();  // the writer and the reader disagree
  for (const auto& c : profile.collectives) {
    (void)profile.collective(c.op, c.ranks, c.nodes);
    (void)c.time_s(1e6);
  }
  return 0;
}
