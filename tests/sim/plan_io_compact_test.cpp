// The compact plan format (sim/plan/plan_io_compact.cpp): plan → compact → plan is the same plan,
// field for field and with its programs still shared; a read-back plan simulates to the same step,
// bit for bit; and every truncated, damaged or hostile file is refused with an InputError that
// names the file, the key and the byte.
#include "sim/plan/plan_io_compact.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hardware/input/diagnostics.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/report/prediction.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "tests/support/plans.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

std::string compact(const Plan& plan) {
  std::ostringstream out;
  write_plan_compact(plan, out);
  return out.str();
}

std::string yaml(const Plan& plan) {
  std::ostringstream out;
  write_plan(plan, out);
  return out.str();
}

// Every field of two plans, the sharing of programs included.
void expect_same_plan(const Plan& a, const Plan& b) {
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.replicas.count, b.replicas.count);
  EXPECT_EQ(a.replicas.rank_stride, b.replicas.rank_stride);
  ASSERT_EQ(a.blocks.size(), b.blocks.size());
  for (std::size_t i = 0; i < a.blocks.size(); ++i) {
    EXPECT_EQ(a.blocks[i].name, b.blocks[i].name);
    ASSERT_EQ(a.blocks[i].kernels.size(), b.blocks[i].kernels.size());
    for (std::size_t k = 0; k < a.blocks[i].kernels.size(); ++k) {
      const Kernel& x = a.blocks[i].kernels[k];
      const Kernel& y = b.blocks[i].kernels[k];
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.kind, y.kind);
      EXPECT_EQ(x.dtype, y.dtype);
      EXPECT_EQ(x.flops, y.flops);
      EXPECT_EQ(x.bytes, y.bytes);
      EXPECT_EQ(x.gemm.m, y.gemm.m);
      EXPECT_EQ(x.gemm.n, y.gemm.n);
      EXPECT_EQ(x.gemm.k, y.gemm.k);
      EXPECT_EQ(x.gemm.batch, y.gemm.batch);
      EXPECT_EQ(x.attention_library, y.attention_library);
      EXPECT_EQ(x.attention_product, y.attention_product);
    }
  }
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (std::size_t g = 0; g < a.groups.size(); ++g) {
    EXPECT_EQ(a.groups[g].name, b.groups[g].name);
    EXPECT_EQ(a.groups[g].ranks, b.groups[g].ranks);
    EXPECT_EQ(a.groups[g].expert_dispatch, b.groups[g].expert_dispatch);
  }
  ASSERT_EQ(a.ranks.size(), b.ranks.size());
  for (std::size_t r = 0; r < a.ranks.size(); ++r) {
    const RankProgram& x = a.ranks[r];
    const RankProgram& y = b.ranks[r];
    EXPECT_EQ(x.rank, y.rank);
    EXPECT_EQ(x.device, y.device);
    EXPECT_EQ(x.static_memory.weights_bytes, y.static_memory.weights_bytes);
    EXPECT_EQ(x.static_memory.gradients_bytes, y.static_memory.gradients_bytes);
    EXPECT_EQ(x.static_memory.optimizer_bytes, y.static_memory.optimizer_bytes);
    EXPECT_EQ(x.static_memory.communication_buffer_bytes,
              y.static_memory.communication_buffer_bytes);
    EXPECT_EQ(x.shares, y.shares);
    EXPECT_EQ(x.group_map, y.group_map);
    EXPECT_EQ(x.peer_offset, y.peer_offset);
    ASSERT_EQ(x.ops.size(), y.ops.size()) << "rank " << r;
    for (std::size_t i = 0; i < x.ops.size(); ++i) {
      const Op& p = x.ops[i];
      const Op& q = y.ops[i];
      EXPECT_EQ(p.kind, q.kind);
      EXPECT_EQ(p.stream, q.stream);
      EXPECT_EQ(p.collective, q.collective);
      EXPECT_EQ(p.label, q.label);
      EXPECT_EQ(p.block, q.block);
      EXPECT_EQ(p.group, q.group);
      EXPECT_EQ(p.peer, q.peer);
      EXPECT_EQ(p.microbatch, q.microbatch);
      EXPECT_EQ(p.bytes, q.bytes);
      EXPECT_EQ(p.activation_bytes, q.activation_bytes);
      EXPECT_TRUE(std::equal(p.deps.begin(), p.deps.end(), q.deps.begin(), q.deps.end()));
    }
  }
}

TrainingJob small_job(int tp, int pp, int dp, int microbatches) {
  TrainingJob job = test::gpt3_1_3b_job(tp, pp, dp, microbatches * dp);
  job.model.layers = 4;
  return job;
}

// Plans of every shape the builder makes: shared programs (interleaved pipeline, every rank), one
// replica standing for several, MoE with expert groups.
std::vector<Plan> sample_plans() {
  std::vector<Plan> plans;
  TrainingJob interleaved = small_job(2, 2, 2, 4);
  interleaved.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  interleaved.parallelism.virtual_stages = 2;
  interleaved.model.layers = 8;
  plans.push_back(build_plan(interleaved, RankScope::all_ranks));
  plans.push_back(build_plan(small_job(2, 2, 4, 2), RankScope::one_replica));
  plans.push_back(build_plan(small_job(1, 4, 1, 8)));
  TrainingJob moe = small_job(1, 1, 2, 2);
  moe.model = *transformer_preset("mixtral-8x7b");
  moe.model.layers = 2;
  moe.parallelism.ep = 2;
  plans.push_back(build_plan(moe));
  // DeepEP: the expert-parallel groups carry their dispatch (the header's flag).
  moe.framework.moe_dispatcher = MoeDispatcher::deepep;
  plans.push_back(build_plan(moe));
  // FlashAttention-2's and the Triton kernel's fused attention kernels: their library byte.
  for (AttentionLibrary library :
       {AttentionLibrary::flash_attention_2, AttentionLibrary::flash_attention_triton}) {
    TrainingJob fused = small_job(1, 1, 2, 2);
    fused.framework.attention_library = library;
    plans.push_back(build_plan(fused));
  }
  // Materialised attention: its products carry their flag.
  TrainingJob materialised = small_job(1, 1, 2, 2);
  materialised.model.flash_attention = false;
  plans.push_back(build_plan(materialised));
  return plans;
}

TEST(PlanCompact, Crc32IsZlibs) {
  // The check value of CRC-32/ISO-HDLC (zlib's crc32, Python's zlib.crc32).
  EXPECT_EQ(plan_crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(plan_crc32(""), 0u);
  const std::string text = "a longer text, read in two parts that do not end on a word";
  EXPECT_EQ(plan_crc32(text.substr(13), plan_crc32(text.substr(0, 13))), plan_crc32(text));
}

TEST(PlanCompact, RoundTripsEveryFieldAndKeepsProgramsShared) {
  for (const Plan& plan : sample_plans()) {
    const std::string bytes = compact(plan);
    const Plan back = parse_plan_compact(bytes, "p.splan");
    expect_same_plan(plan, back);
    // Written again, the same bytes; written as YAML, the same text as the original's.
    EXPECT_EQ(compact(back), bytes);
    EXPECT_EQ(yaml(back), yaml(plan));
  }
  // The interleaved plan's stages share: the file holds one program per stage, not one per rank,
  // and is smaller than that of the same plan unshared.
  const Plan shared = sample_plans().front();
  const Plan back = parse_plan_compact(compact(shared), "p.splan");
  std::size_t sharing = 0;
  for (const RankProgram& program : back.ranks)
    sharing += program.shares >= 0 ? 1 : 0;
  EXPECT_GT(sharing, 0u);
  EXPECT_LT(compact(shared).size(), compact(test::unshared(shared)).size());
}

TEST(PlanCompact, AReadBackPlanSimulatesToTheSameStepBitForBit) {
  const ClusterSpec cluster = test::a100_cluster(2);
  const Topology topology(cluster);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  for (const Plan& plan : sample_plans()) {
    if (plan.world_size() > cluster.device_count())
      continue;
    const Plan back = parse_plan_compact(compact(plan), "p.splan");
    for (const NetworkModel model : {NetworkModel::flows, NetworkModel::alpha_beta}) {
      SimulationOptions options;
      options.network_model = model;
      const SimulationResult a = simulate(plan, topology, *compute, options);
      const SimulationResult b = simulate(back, topology, *compute, options);
      EXPECT_EQ(a.step_time_s, b.step_time_s);
      EXPECT_EQ(a.events, b.events);
      EXPECT_EQ(a.link_bytes, b.link_bytes);
      ASSERT_EQ(a.ranks.size(), b.ranks.size());
      for (std::size_t r = 0; r < a.ranks.size(); ++r) {
        EXPECT_EQ(a.ranks[r].finish_s, b.ranks[r].finish_s);
        EXPECT_EQ(a.ranks[r].peak_activation_bytes, b.ranks[r].peak_activation_bytes);
      }
    }
  }
}

TEST(PlanCompact, StreamsFromAStreamOfUnknownSize) {
  const Plan plan = sample_plans().front();
  std::istringstream in(compact(plan));
  expect_same_plan(plan, read_plan_compact(in, "<pipe>"));
}

TEST(PlanCompact, FilesAreReadByTheirBytesAndWrittenByTheirName) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("plan-compact-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const Plan plan = sample_plans()[1];
  EXPECT_EQ(plan_format_for(dir / "p.splan"), PlanFileFormat::compact);
  EXPECT_EQ(plan_format_for(dir / "p.yaml"), PlanFileFormat::yaml);
  EXPECT_EQ(plan_format_for(dir / "p.splan.yaml"), PlanFileFormat::yaml);
  for (const char* name : {"p.splan", "p.yaml", "compact-named.yaml"}) {
    const auto path = dir / name;
    const PlanFileFormat format =
        std::string(name) == "compact-named.yaml" ? PlanFileFormat::compact : plan_format_for(path);
    {
      std::ofstream out(path, std::ios::binary);
      write_plan(plan, out, format);
    }
    EXPECT_EQ(plan_format_of_file(path), format) << name;
    EXPECT_TRUE(is_plan_file(path)) << name;
    const Plan back = read_plan(path);
    EXPECT_EQ(yaml(back), yaml(plan)) << name;
  }
  std::ofstream(dir / "scenario.yaml") << "format: scaleplan-scenario\nversion: 1\n";
  EXPECT_FALSE(is_plan_file(dir / "scenario.yaml"));
  EXPECT_FALSE(is_plan_file(dir / "missing.splan"));
  std::filesystem::remove_all(dir);
}

// A small hand-made plan (two ranks, a send, a collective) in the compact format.
Plan tiny_plan() {
  Plan plan;
  plan.label("op");
  plan.add_block({"b", {make_gemm("g", {4, 4, 4, 1}, Dtype::bf16)}});
  plan.add_group({"dp", {0, 1}, {}});
  plan.ranks.resize(2);
  for (int r = 0; r < 2; ++r) {
    plan.ranks[r].rank = r;
    plan.ranks[r].device = r;
  }
  Op compute;
  compute.block = 0;
  Op send;
  send.kind = OpKind::send;
  send.stream = Stream::pp_send_next;
  send.peer = 1;
  send.bytes = 8;
  send.deps.push_back(0);
  Op recv = send;
  recv.kind = OpKind::recv;
  recv.stream = Stream::pp_recv_prev;
  recv.peer = 0;
  recv.deps.clear();
  Op reduce;
  reduce.kind = OpKind::collective;
  reduce.stream = Stream::dp_comm;
  reduce.bytes = 8;
  plan.ranks[0].ops = {compute, send, reduce};
  plan.ranks[1].ops = {recv, reduce};
  return plan;
}

std::string errors_of(const std::string& bytes) {
  try {
    parse_plan(bytes, "p.splan");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// `bytes` with its checksum made right again, so that a test reaches the check it means.
std::string resealed(std::string bytes) {
  const std::uint32_t crc = plan_crc32(std::string_view(bytes).substr(0, bytes.size() - 4));
  for (int i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xffu);
  return bytes;
}

// Little-endian u32 `value` at `at`.
std::string with_u32(std::string bytes, std::size_t at, std::uint32_t value) {
  for (int i = 0; i < 4; ++i)
    bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xffu);
  return resealed(bytes);
}

// Where the first op record of rank 0 begins.
std::size_t first_op(const std::string& bytes) {
  return bytes.find("RNKS") + 4 + 4 + 52 + 4;
}

TEST(PlanCompactErrors, TheTinyPlanReads) {
  const std::string bytes = compact(tiny_plan());
  EXPECT_EQ(errors_of(bytes), "");
  // YAML and compact of the same plan read alike.
  EXPECT_EQ(yaml(parse_plan(bytes, "p.splan")), yaml(tiny_plan()));
}

TEST(PlanCompactErrors, EveryTruncationIsRefusedAtItsByte) {
  const std::string bytes = compact(tiny_plan());
  for (std::size_t n = 8; n < bytes.size(); ++n) {
    const std::string message = errors_of(bytes.substr(0, n));
    ASSERT_NE(message, "") << n;
    EXPECT_EQ(message.rfind("p.splan: ", 0), 0u) << message;
    EXPECT_NE(message.find("at byte "), std::string::npos) << message;
  }
  // Cut inside the first op: a file's size cannot hold the ranks it counts; a stream (of unknown
  // size) ends inside the op, which the error names.
  const std::size_t cut = first_op(bytes) + 10;
  const std::size_t ranks_count = bytes.find("RNKS") + 4;
  EXPECT_EQ(errors_of(bytes.substr(0, cut)),
            fmt::format("p.splan: ranks: at byte {}: 2 ranks need at least 112 bytes, but the "
                        "file has {} left: the count is corrupt or the file is truncated",
                        ranks_count, cut - ranks_count - 4));
  std::istringstream in(bytes.substr(0, cut));
  try {
    read_plan_compact(in, "p.splan");
    ADD_FAILURE() << "read";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              fmt::format("p.splan: ranks[0].ops[0]: at byte {}: the file ends here, 10 bytes "
                          "into a field or record of 44 bytes: it is truncated (a compact plan "
                          "ends with its END. record and checksum; write it again)",
                          cut));
  }
}

TEST(PlanCompactErrors, EveryDamagedByteIsRefused) {
  // A CRC-32 finds every change of one byte; most are found before it, by the field they break.
  const std::string bytes = compact(tiny_plan());
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (const int flip : {0x01, 0x80, 0xff}) {
      std::string damaged = bytes;
      damaged[at] = static_cast<char>(static_cast<unsigned char>(damaged[at]) ^ flip);
      EXPECT_NE(errors_of(damaged), "") << "byte " << at << " ^ " << flip;
    }
  }
}

TEST(PlanCompactErrors, ChecksumsAndTrailingBytes) {
  const std::string bytes = compact(tiny_plan());
  // A size changed in a way every field accepts: only the checksum finds it.
  std::string changed = bytes;
  const std::size_t send_bytes = first_op(bytes) + 44 + 24;  // rank 0's send (op 1): bytes 8
  changed[send_bytes + 6] = static_cast<char>(0x30);         // 8 → 16, as good a size
  const std::string message = errors_of(changed);
  EXPECT_NE(message.find("the checksum is 0x"), std::string::npos) << message;
  EXPECT_NE(message.find("the file was changed or damaged after it was written"),
            std::string::npos);
  EXPECT_EQ(errors_of(bytes + "x"),
            fmt::format("p.splan: at byte {}: bytes follow the end of the plan (its checksum): "
                        "the file holds more than one plan, or was appended to",
                        bytes.size()));
}

TEST(PlanCompactErrors, HeaderProblemsSayWhatIsRead) {
  const std::string bytes = compact(tiny_plan());
  EXPECT_EQ(errors_of(with_u32(bytes, 8, 2)),
            "p.splan: version: at byte 8: compact plan version 2; this build reads version 1 "
            "(write the plan again with this build's `scaleplan run --dump-plan`)");
  EXPECT_EQ(errors_of(with_u32(bytes, 12, 2)),
            "p.splan: flags: at byte 12: flags 0x2; version 1 defines only 0x1 (groups carry an "
            "expert dispatch), use 0 or 0x1");
  EXPECT_EQ(errors_of(with_u32(bytes, 16, 0)),
            "p.splan: replicas.count: at byte 16: 0 is out of range; use a value from 1 to "
            "2147483647");
  EXPECT_EQ(errors_of(bytes.substr(0, 12)),
            "p.splan: at byte 0: 12 bytes are too few for a compact plan (its header alone is 24)");
  std::string tag = bytes;
  tag[bytes.find("GRPS")] = 'X';
  EXPECT_EQ(errors_of(resealed(tag)),
            fmt::format("p.splan: groups: at byte {}: expected the groups section (tag 'GRPS'), "
                        "found 'XRPS': the file is corrupt, or written by another version of the "
                        "format",
                        bytes.find("GRPS")));
}

TEST(PlanCompactErrors, HostileCountsAllocateNothing) {
  const std::string bytes = compact(tiny_plan());
  const std::size_t labels = 24 + 4;
  EXPECT_EQ(errors_of(with_u32(bytes, labels, 0xffffffffu)),
            fmt::format("p.splan: labels: at byte 28: 4294967295 labels need at least 17179869180 "
                        "bytes, but the file has {} left: the count is corrupt or the file is "
                        "truncated",
                        bytes.size() - 32));
  // The same through a stream of unknown size: the file ends where the count said more would be.
  std::istringstream in(with_u32(bytes, labels, 0xffffffffu));
  EXPECT_THROW(read_plan_compact(in, "<pipe>"), InputError);
  // A label 4 GiB long.
  EXPECT_NE(errors_of(with_u32(bytes, labels + 4, 0xfffffff0u)).find("labels[0]: at byte 32: "),
            std::string::npos);
  // An op with 2^32 - 1 dependencies.
  EXPECT_NE(errors_of(with_u32(bytes, first_op(bytes) + 40, 0xffffffffu))
                .find("ranks[0].ops[0].deps: at byte"),
            std::string::npos);
}

TEST(PlanCompactErrors, FieldsOutOfRangeNameTheValidOnes) {
  const std::string bytes = compact(tiny_plan());
  const std::size_t op = first_op(bytes);
  std::string stream = bytes;
  stream[op + 1] = 14;
  EXPECT_EQ(errors_of(resealed(stream)),
            fmt::format("p.splan: ranks[0].ops[0].stream: at byte {}: 14 is not a stream; use 0 "
                        "(compute), 1 (tp-comm), 2 (cp-comm), 3 (ep-comm), 4 (dp-comm), 5 "
                        "(pp-send-next), 6 (pp-recv-prev), 7 (pp-send-prev), 8 (pp-recv-next) or 9 "
                        "(param-gather)",
                        op + 1));
  EXPECT_EQ(errors_of(with_u32(bytes, op + 4, 3)),
            fmt::format("p.splan: ranks[0].ops[0].label: at byte {}: 3 is not a label index; use "
                        "0 to 0",
                        op + 4));
  // The send (op 1) depends on op 0; make it depend on itself.
  EXPECT_EQ(errors_of(with_u32(bytes, op + 44 + 44, 1)),
            fmt::format("p.splan: ranks[0].ops[1].deps: at byte {}: op 1 is not an earlier op of "
                        "this rank (dependencies point backwards; a cycle cannot run): use 0 to 0",
                        op + 88));
  // A NaN size.
  std::string nan = bytes;
  for (int i = 0; i < 8; ++i)
    nan[op + 24 + i] = static_cast<char>(0xff);
  EXPECT_EQ(errors_of(resealed(nan)),
            fmt::format("p.splan: ranks[0].ops[0].bytes: at byte {}: NaN is not a size; use a "
                        "number from 0 to 1e+21",
                        op + 24));
}

TEST(PlanCompactErrors, TheAttentionProductFlagIsZeroOrOne) {
  // Block "b" of one kernel "g": the kernel's fixed record follows its name; its fourth byte is
  // the flag of materialised attention's products.
  const std::string bytes = compact(tiny_plan());
  const std::string record_start = std::string("\x01\0\0\0b\x01\0\0\0\x01\0\0\0g", 14);
  const std::size_t at = bytes.find(record_start);
  ASSERT_NE(at, std::string::npos);
  const std::size_t flag = at + record_start.size() + 3;
  ASSERT_EQ(bytes[flag], 0);
  std::string product = bytes;
  product[flag] = 1;
  EXPECT_TRUE(
      parse_plan_compact(resealed(product), "p.splan").blocks[0].kernels[0].attention_product);
  std::string bad = bytes;
  bad[flag] = 2;
  EXPECT_EQ(errors_of(resealed(bad)),
            fmt::format("p.splan: blocks[0].kernels[0].attention_product: at byte {}: flag byte "
                        "0x2; use 0 (a fused or other kernel) or 1 (materialised attention's "
                        "product)",
                        flag));
}

TEST(PlanCompactErrors, ExpertDispatchRecordsAreChecked) {
  // The DeepEP sample plan's (the fifth's) first dispatch record: present 1, dispatcher 1 (deepep),
  // routing 0 (uniform), 7 bytes 0, then experts 8 as an i64.
  const std::string bytes = compact(sample_plans()[4]);
  const std::string record("\x01\x01\x00\x00\x00\x00\x00\x00\x00\x08", 10);
  const std::size_t at = bytes.find(record);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(errors_of(resealed(bytes)), "");
  std::string present = bytes;
  present[at] = 2;
  EXPECT_NE(errors_of(resealed(present)).find("2 is not 0 (no expert dispatch) or 1"),
            std::string::npos);
  std::string routing = bytes;
  routing[at + 2] = 7;
  EXPECT_NE(errors_of(resealed(routing))
                .find("7 is not a routing; use 0 (uniform), 1 (group-limited) or 2 (round-robin)"),
            std::string::npos);
  std::string experts = bytes;
  experts[at + 9] = 0;
  EXPECT_NE(errors_of(resealed(experts)).find("0 is out of range; use a value from 1 to"),
            std::string::npos);
  // Group-limited routing over 8 experts in 3 groups: refused by the routing's rules.
  std::string groups = bytes;
  groups[at + 2] = 1;
  groups[at + 1 + 24] = 3;
  EXPECT_NE(errors_of(resealed(groups)).find("expert routing: group-limited routing needs"),
            std::string::npos);
}

TEST(PlanCompactErrors, ValidationProblemsPointAtTheRecord) {
  // The send's peer made rank 0 itself: well-formed, but no plan; the error names the op's record.
  const std::string bytes = compact(tiny_plan());
  const std::size_t send = first_op(bytes) + 44;  // op 0 has no dependencies
  EXPECT_EQ(errors_of(with_u32(bytes, send + 16, 0)),
            fmt::format("p.splan: ranks[0].ops[1]: at byte {}: plan: rank 0 op 1: peer rank 0 is "
                        "not another rank",
                        send));
}

TEST(PlanCompactErrors, SharingRanksAreChecked) {
  // A rank that shares the ops of a rank that shares itself, or holds ops of its own too.
  TrainingJob job = small_job(2, 2, 2, 4);
  const Plan plan = build_plan(job, RankScope::all_ranks);
  ASSERT_GE(plan.ranks[1].shares, 0);
  const std::string bytes = compact(plan);
  // The shares field of ranks[1]: after ranks[0]'s record.
  const std::size_t rank0 = bytes.find("RNKS") + 8;
  std::size_t rank1 = rank0 + 52 + 8 * plan.ranks[0].group_map.size() + 4;
  for (const Op& op : plan.ranks[0].ops)
    rank1 += 44 + 4 * op.deps.size();
  EXPECT_EQ(errors_of(with_u32(bytes, rank1 + 40, 5)),
            fmt::format("p.splan: ranks[1].shares: at byte {}: 5; use -1 (the rank holds its own "
                        "ops) or the index of an earlier rank whose ops it runs, 0 to 0",
                        rank1 + 40));
}

}  // namespace
}  // namespace scaleplan
