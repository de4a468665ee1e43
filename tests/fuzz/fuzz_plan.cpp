// libFuzzer target: the plan reader. Any input must either parse or throw InputError. A plan
// that parses must write back and read again to the same text (the format round-trips), and a
// small one is simulated (with its replicas' copies, when it lists one replica): the reader's
// validation promises the engine a well-formed plan, so the simulation must end (finished, or a
// deadlock/overflow reported as an exception), never crash or hang.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/topology.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"

namespace {

constexpr std::size_t max_fuzz_ranks = 16;
constexpr std::size_t max_fuzz_ops = 4096;

std::string written(const scaleplan::Plan& plan) {
  std::ostringstream out;
  scaleplan::write_plan(plan, out);
  return out.str();
}

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
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Plan plan;
  try {
    plan = parse_plan(text, "fuzz-plan.yaml");
  } catch (const InputError&) {
    return 0;
  }
  const std::string once = written(plan);
  const Plan again = parse_plan(once, "fuzz-plan-rewritten.yaml");
  const std::string twice = written(again);
  if (twice != once) {
    // The writer and the reader disagree: show the first line that differs.
    std::istringstream a(once), b(twice);
    std::string line_a, line_b;
    for (int line = 1; std::getline(a, line_a) && std::getline(b, line_b); ++line) {
      if (line_a != line_b) {
        std::fprintf(stderr, "plan round trip differs at line %d:\n  %s\n  %s\n", line,
                     line_a.c_str(), line_b.c_str());
        break;
      }
    }
    std::abort();
  }

  std::size_t ops = 0;
  for (const auto& rank : plan.ranks)
    ops += rank.ops.size();
  // A plan of one replica runs its copies on the devices after it: the cluster holds them all.
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
