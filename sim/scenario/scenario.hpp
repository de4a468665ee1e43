// A scenario file: the cluster, the model, the training settings and the parallel strategy,
// validated as a whole. The format is a contract (docs/scenario-format.md): keys are added,
// never renamed.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/input/diagnostics.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/profile.hpp"
#include "models/transformer.hpp"
#include "sim/simulate/device_memory.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/search_space.hpp"
#include "sim/strategy/strategy.hpp"

namespace scaleplan {

// A published measurement the scenario reproduces (validation cases only; `run` ignores it).
struct Measured {
  double step_time_s = 0;
  std::string source;
};

struct Scenario {
  std::string name;
  std::string file;
  ClusterSpec cluster;
  TrainingJob job;
  // The calibration profile the scenario names, its path resolved against the scenario's folder.
  std::optional<std::string> calibration;
  std::optional<Profile> profile;
  std::optional<Measured> measured;
  // The `search:` section: the axes `scaleplan plan` ranges over (docs/planner.md).
  std::optional<SearchSpace> search;
  // memory.allocator_headroom_fraction: the share of the caching allocator's reserved memory
  // left unallocated at the peak.
  double allocator_headroom_fraction = default_allocator_headroom_fraction().value;
  // training.micro_batch_by_group: the micro-batch of the data-parallel replicas on each named
  // node group (job.training.replica_micro_batch holds it per replica once the plan is read).
  std::map<std::string, std::int64_t> micro_batch_by_group;
  // Where sections start, for errors found after parsing (a topology that cannot be built).
  std::map<std::string, SourceLocation> locations;
};

// Limits beyond which a scenario is refused as absurd rather than simulated for hours (and
// max_devices, hardware/cluster.hpp).
inline constexpr std::int64_t max_layers = 10'000;
inline constexpr std::int64_t max_dimension = 1 << 20;     // hidden, ffn_hidden, heads, vocab
inline constexpr std::int64_t max_sequence = 1 << 24;      // tokens per sequence
inline constexpr std::int64_t max_global_batch = 1 << 24;  // sequences per step

// What a scenario is read for. To run it, its parallelism must keep the strategy rules. To plan
// (`scaleplan plan`), the planner chooses the parallelism: the section's values are read and
// range-checked but need not form a valid plan, and may be left out.
enum class ScenarioUse { run, plan };

// Reads and checks a scenario. Throws InputError with every problem found, each naming the
// file, line, column and key and saying what would be valid.
Scenario load_scenario(const std::filesystem::path& path, const Catalog& catalog,
                       ScenarioUse use = ScenarioUse::run);
Scenario parse_scenario(std::string_view yaml_text, const std::string& file_label,
                        const Catalog& catalog, ScenarioUse use = ScenarioUse::run);

// Why `profile` (named `profile_name`) cannot time `scenario`: it refines another device. Empty
// when it can. What the profile lacks (a GEMM fit for training.dtype, collective fits) comes from
// the catalog, and the report says so.
std::vector<std::string> calibration_mismatches(const Scenario& scenario, const Profile& profile,
                                                const std::string& profile_name);

// `scenario` timed with `profile` (named `profile_name` in reports) in place of the profile it
// names, if any: what `--calibration` does. Throws InputError at `option` (the command-line option
// or file that chose the profile) when the profile cannot time the scenario.
void use_calibration(Scenario& scenario, const Profile& profile, const std::string& profile_name,
                     const SourceLocation& option);

}  // namespace scaleplan
