// libFuzzer target: the integer fields of a plan that size, index and divide (replicas.count,
// replicas.rank_stride, rank numbers, devices, peers, group members), set to values the text
// fuzzer rarely reaches (2^30, INT_MAX, negatives). The input's bytes choose a base plan and
// which field gets which 32-bit value. validate_plan must accept the plan or throw PlanError; a
// plan it accepts must write and read back to the same plan, and a small one must simulate to
// its end or to a reported error. A product of replica fields that wrapped to zero and divided
// (SIGFPE) is what this target was written for.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <tuple>

#include "hardware/input/diagnostics.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/topology.hpp"
#include "models/transformer.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace {

using namespace scaleplan;

constexpr int max_fuzz_devices = 16;

// Small plans of every shape the builder makes with replicas: pipeline, tensor and data
// parallel, listed as one replica.
const std::vector<Plan>& base_plans() {
  static const std::vector<Plan> plans = [] {
    std::vector<Plan> p;
    for (const auto& [tp, pp, dp] : {std::tuple{1, 2, 2}, {2, 1, 4}, {1, 1, 8}, {2, 2, 2}}) {
      TrainingJob job;
      job.model = *transformer_preset("gpt3-1.3b");
      job.model.layers = 2;
      job.training.micro_batch = 1;
      job.training.global_batch = 2 * dp;
      job.parallelism.tp = tp;
      job.parallelism.pp = pp;
      job.parallelism.dp = dp;
      p.push_back(build_plan(job, RankScope::one_replica));
    }
    return p;
  }();
  return plans;
}

// A value from the input: often an edge (0, ±1, powers of two near the int range), else any.
int fuzzed_int(FuzzedDataProvider& data) {
  static constexpr int edges[] = {0,
                                  1,
                                  -1,
                                  2,
                                  3,
                                  4,
                                  8,
                                  1 << 15,
                                  1 << 16,
                                  1 << 30,
                                  std::numeric_limits<int>::max(),
                                  std::numeric_limits<int>::min()};
  if (data.ConsumeBool())
    return data.PickValueInArray(edges);
  return data.ConsumeIntegral<int>();
}

const Topology& star(int devices) {
  static std::vector<Topology> topologies = [] {
    std::vector<Topology> t;
    for (int n = 1; n <= max_fuzz_devices; ++n) {
      std::vector<Topology::DuplexLink> links;
      for (int d = 0; d < n; ++d)
        links.push_back({static_cast<VertexId>(d), static_cast<VertexId>(n), 50e9, 1e-6});
      t.push_back(Topology::custom(n, 1, links));
    }
    return t;
  }();
  return topologies[static_cast<std::size_t>(devices - 1)];
}

std::string written(const Plan& plan) {
  std::ostringstream out;
  write_plan(plan, out);
  return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  FuzzedDataProvider data(bytes, size);
  const std::vector<Plan>& bases = base_plans();
  Plan plan = bases[data.ConsumeIntegralInRange<std::size_t>(0, bases.size() - 1)];
  plan.unshare();  // every program its own ops, for the mutations below
  const int edits = data.ConsumeIntegralInRange(1, 8);
  for (int e = 0; e < edits && data.remaining_bytes() > 0; ++e) {
    switch (data.ConsumeIntegralInRange(0, 5)) {
      case 0:
        plan.replicas.count = fuzzed_int(data);
        break;
      case 1:
        plan.replicas.rank_stride = fuzzed_int(data);
        break;
      case 2:
        plan.ranks[data.ConsumeIntegralInRange<std::size_t>(0, plan.ranks.size() - 1)].rank =
            fuzzed_int(data);
        break;
      case 3:
        plan.ranks[data.ConsumeIntegralInRange<std::size_t>(0, plan.ranks.size() - 1)].device =
            fuzzed_int(data);
        break;
      case 4: {
        Group& group =
            plan.groups[data.ConsumeIntegralInRange<std::size_t>(0, plan.groups.size() - 1)];
        if (!group.ranks.empty())
          group.ranks[data.ConsumeIntegralInRange<std::size_t>(0, group.ranks.size() - 1)] =
              fuzzed_int(data);
        break;
      }
      default: {
        RankProgram& program =
            plan.ranks[data.ConsumeIntegralInRange<std::size_t>(0, plan.ranks.size() - 1)];
        for (Op& op : program.ops) {
          if (op.kind == OpKind::send || op.kind == OpKind::recv) {
            op.peer = fuzzed_int(data);
            break;
          }
        }
        break;
      }
    }
  }
  try {
    validate_plan(plan);
  } catch (const PlanError&) {
    return 0;
  }
  // What validate_plan accepts, the plan format writes and reads back unchanged.
  const std::string once = written(plan);
  try {
    if (written(parse_plan(once, "fuzz-plan-replicas.yaml")) != once)
      __builtin_trap();
  } catch (const InputError& e) {
    std::fprintf(stderr, "validate_plan accepts what the plan reader refuses:\n%s\n", e.what());
    std::abort();
  }
  const int world = plan.world_size();
  if (world > max_fuzz_devices)
    return 0;
  const RooflineModel compute(*Catalog::builtin().find("H100-SXM5-80GB"));
  try {
    (void)simulate(plan, star(world), compute, SimulationOptions{1e-6});
  } catch (const std::exception&) {
    // Ranks on devices outside the cluster, deadlocks and durations beyond the simulated range
    // are reported as exceptions; that is the contract.
  }
  return 0;
}
