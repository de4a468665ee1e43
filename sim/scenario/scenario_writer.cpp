#include "sim/scenario/scenario_writer.hpp"

#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {

std::string scenario_with_plan(std::string_view yaml_text, const std::string& file_label,
                               const TrainingJob& job, const std::string& name,
                               const std::optional<std::string>& calibration_path) {
  YAML::Node root = load_yaml_string(yaml_text, file_label);
  root["name"] = name;
  root.remove("search");
  if (calibration_path)
    root["calibration"] = std::filesystem::absolute(*calibration_path).lexically_normal().string();
  root["training"]["micro_batch"] = job.training.micro_batch;
  const ParallelismSpec& p = job.parallelism;
  YAML::Node parallelism = root["parallelism"];
  parallelism["tp"] = p.tp;
  parallelism["pp"] = p.pp;
  parallelism["dp"] = p.dp;
  parallelism["cp"] = p.cp;
  parallelism["ep"] = p.ep;
  parallelism["schedule"] = std::string(to_string(p.schedule));
  parallelism["virtual_stages"] = p.virtual_stages;
  parallelism["zero"] = p.zero;
  parallelism["recompute"] = std::string(to_string(p.recompute));
  parallelism.remove("recompute_modules");
  if (p.recompute == Recompute::selective && p.recompute_modules != SelectiveRecompute{}) {
    YAML::Node modules(YAML::NodeType::Sequence);
    for (const RecomputeModuleName& m : recompute_module_names) {
      if (p.recompute_modules.*(m.flag))
        modules.push_back(std::string(m.name));
    }
    modules.SetStyle(YAML::EmitterStyle::Flow);
    parallelism["recompute_modules"] = modules;
  }
  parallelism["sequence_parallel"] = p.sequence_parallel;
  // The plan's split: balanced or given (stage_layers written, balance and a Megatron layout left
  // out) or even (none of them).
  parallelism.remove("balance");
  parallelism.remove("pipeline_layout");
  if (p.stage_layers.empty()) {
    parallelism.remove("stage_layers");
  } else {
    parallelism["stage_layers"] = p.stage_layers;
    parallelism["stage_layers"].SetStyle(YAML::EmitterStyle::Flow);
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace scaleplan
