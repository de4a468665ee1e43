// libFuzzer target: the compact plan reader (sim/plan/plan_io_compact.cpp). The first byte of an
// input chooses how the rest is read: with its lowest bit set, the rest's last 4 bytes are made
// its right checksum first, so that mutations reach the fields and the validation behind the
// CRC-32 (which would refuse nearly all of them); without, the rest is read as it is. Any input
// must either read or throw InputError. A plan that reads must write back to the same bytes (the
// format keeps every field and the sharing of programs), and a small one is simulated: the
// reader's validation promises the engine a well-formed plan, shared programs included (which
// the YAML reader never makes), so the simulation must end, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "hardware/input/diagnostics.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/topology.hpp"
#include "sim/plan/plan_io_compact.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"

namespace {

constexpr std::size_t max_fuzz_ranks = 16;
constexpr std::size_t max_fuzz_ops = 4096;

// Ranks on one switch: the simplest network every plan can run on.
const scaleplan::Topology& star(std::size_t ranks) {
  static std::vector<scaleplan::Topology> topologies = [] {
    std::vector<scaleplan::Topology> t;
    for (std::size_t n = 1; n <= max_fuzz_ranks; ++n) {
      std::vector<scaleplan::Topology::DuplexLink> links;
      for (std::size_t d = 0; d < n; ++d) {
        links.push_back(
            {static_cast<scaleplan::VertexId>(d), static_cast<scaleplan::VertexId>(n), 50e9, 1e-6});
      }
      t.push_back(scaleplan::Topology::custom(static_cast<int>(n), 1, links));
    }
    return t;
  }();
  return topologies[ranks - 1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  if (size == 0)
    return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1u) != 0 && bytes.size() >= 4) {
    const std::uint32_t crc = plan_crc32(std::string_view(bytes).substr(0, bytes.size() - 4));
    for (std::size_t i = 0; i < 4; ++i)
      bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xffu);
  }
  Plan plan;
  try {
    plan = parse_plan_compact(bytes, "fuzz-plan.splan");
  } catch (const InputError&) {
    return 0;
  }
  std::ostringstream out;
  write_plan_compact(plan, out);
  if (out.str() != bytes) {
    const std::string again = out.str();
    std::size_t at = 0;
    while (at < again.size() && at < bytes.size() && again[at] == bytes[at])
      ++at;
    std::fprintf(stderr,
                 "compact plan round trip differs at byte %zu (%zu bytes read, %zu written)\n", at,
                 bytes.size(), again.size());
    std::abort();
  }

  std::size_t ops = 0;
  for (std::size_t i = 0; i < plan.ranks.size(); ++i)
    ops += plan.ops_of(i).size();
  const auto world = static_cast<std::size_t>(plan.world_size());
  if (plan.ranks.empty() || world > max_fuzz_ranks || ops > max_fuzz_ops)
    return 0;
  for (const auto& rank : plan.ranks) {
    if (rank.device < 0 || static_cast<std::size_t>(rank.device) >= world)
      return 0;  // the simulator refuses it (tested elsewhere); here only the engine is fuzzed
  }
  const RooflineModel compute(*Catalog::builtin().find("H100-SXM5-80GB"));
  try {
    (void)simulate(plan, star(world), compute, SimulationOptions{1e-6});
  } catch (const std::exception&) {
    // Deadlocks, durations beyond the simulated range and dtypes the device lacks are reported
    // as exceptions; that is the contract.
  }
  return 0;
}
