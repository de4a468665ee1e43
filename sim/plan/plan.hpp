// A plan: the per-rank programs one training step runs, as data.
//
// Each rank's program is a list of ops in issue order. An op runs on one of the rank's streams;
// ops of a stream start in program order, one at a time, each once its dependencies (earlier ops
// of the same rank) have finished. Compute ops name a block of kernels; collective ops name a
// group of ranks and match across members by their order within the group; sends and receives
// match by (sender, receiver, order). The engine simulates a plan, the executor runs it, the
// dump writes it (docs/plan-format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "hardware/input/enum_names.hpp"
#include "models/kernel.hpp"
#include "models/moe_routing.hpp"
#include "sim/plan/collective_kind.hpp"

namespace scaleplan {

enum class OpKind : std::uint8_t { compute, collective, send, recv };
enum class Stream : std::uint8_t {
  compute,
  tp_comm,
  cp_comm,
  ep_comm,
  dp_comm,
  pp_send_next,
  pp_recv_prev,
  pp_send_prev,
  pp_recv_next,
  param_gather,
};
inline constexpr int stream_count = 10;

inline constexpr EnumNames<OpKind, 4> op_kind_names{{{
    {OpKind::compute, "compute"},
    {OpKind::collective, "collective"},
    {OpKind::send, "send"},
    {OpKind::recv, "recv"},
}}};
inline constexpr EnumNames<Stream, stream_count> stream_names{{{
    {Stream::compute, "compute"},
    {Stream::tp_comm, "tp-comm"},
    {Stream::cp_comm, "cp-comm"},
    {Stream::ep_comm, "ep-comm"},
    {Stream::dp_comm, "dp-comm"},
    {Stream::pp_send_next, "pp-send-next"},
    {Stream::pp_recv_prev, "pp-recv-prev"},
    {Stream::pp_send_prev, "pp-send-prev"},
    {Stream::pp_recv_next, "pp-recv-next"},
    {Stream::param_gather, "param-gather"},
}}};

inline std::string_view to_string(OpKind kind) {
  return op_kind_names.name(kind);
}
inline std::string_view to_string(Stream stream) {
  return stream_names.name(stream);
}

// Kernels that run back to back as one op (a transformer block's forward, say).
struct ComputeBlock {
  std::string name;
  std::vector<Kernel> kernels;
};

// How an expert-parallel group's all-to-alls move tokens (framework.moe_dispatcher).
// all_to_all: one copy per (token, expert) to the rank holding the expert, as an all-to-all of
//   the permuted tokens sends them (Megatron-Core's alltoall dispatcher,
//   MoEAlltoAllTokenDispatcher: permute by the routing map, num_out_tokens = the routing map's sum,
//   then all_to_all).
// deepep: DeepEP's normal kernels (deepseek-ai/DeepEP, csrc/kernels/internode.cu dispatch and
//   intranode.cu): one copy per (token, destination node) over RDMA, to the rank with the
//   sender's local index there, then one per (token, destination rank) over NVLink inside the
//   node; the combine reverses it (Megatron-Core's flex dispatcher with --moe-enable-deepep, NeMo
//   AutoModel's enable_deepep).
enum class MoeDispatcher { all_to_all, deepep };

inline constexpr EnumNames<MoeDispatcher, 2> moe_dispatcher_names{{{
    {MoeDispatcher::all_to_all, "all-to-all"},
    {MoeDispatcher::deepep, "deepep"},
}}};

inline std::string_view to_string(MoeDispatcher dispatcher) {
  return moe_dispatcher_names.name(dispatcher);
}

// An expert-parallel group whose all-to-alls a dispatcher other than a plain all-to-all carries:
// its members hold the experts in order (member j the j-th block of experts / members), the
// routing says where a token's experts fall, and each all-to-all's bytes count copies_per_token
// copies of each of the member's tokens (top_k · capacity_factor: a plain all-to-all's send
// buffer), so that bytes / copies_per_token is the member's tokens once.
struct ExpertDispatch {
  // The SMs DeepEP's dispatch and combine kernels hold while they run, taken from the compute
  // beside them: Megatron-Core sets DeepEP's Buffer to 20 unless moe_flex_dispatcher_num_sms says
  // otherwise (megatron/core/transformer/moe/token_dispatcher.py, "DeepEP's historical mcore
  // default").
  static constexpr double deepep_sms = 20;

  MoeDispatcher dispatcher = MoeDispatcher::deepep;
  ExpertRouting routing;
  // Whether its kernels are DeepEP's, which hold deepep_sms SMs while they run.
  bool runs_deepep() const { return dispatcher == MoeDispatcher::deepep; }
  double copies_per_token = 1;

  bool operator==(const ExpertDispatch&) const = default;
};

struct Group {
  std::string name;        // "tp", "dp", ...
  std::vector<int> ranks;  // in ring order
  // Set only on an expert-parallel group whose dispatcher is not a plain all-to-all.
  std::optional<ExpertDispatch> expert_dispatch;

  // Whether its collectives run DeepEP's kernels, which hold ExpertDispatch::deepep_sms SMs.
  bool dispatches_by_deepep() const { return expert_dispatch && expert_dispatch->runs_deepep(); }
};

struct Op {
  OpKind kind = OpKind::compute;
  Stream stream = Stream::compute;
  CollectiveKind collective = CollectiveKind::all_reduce;
  std::uint32_t label = 0;  // index into Plan::labels
  std::uint32_t block = 0;  // compute: index into Plan::blocks
  std::uint32_t group = 0;  // collective: index into Plan::groups
  std::int32_t peer = -1;   // send/recv: the other rank
  std::int32_t microbatch = -1;
  double bytes = 0;  // collective: buffer size per member; send/recv: message size
  // Activation memory this op allocates when it starts (> 0) or frees when it ends (< 0).
  double activation_bytes = 0;
  // Indices of earlier ops of the same rank; nearly every op has one or two, kept inline (plans
  // of large jobs hold tens of millions of ops).
  boost::container::small_vector<std::uint32_t, 2> deps;
};

// Memory a rank holds for the whole step, independent of the schedule.
struct StaticMemory {
  double weights_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  double communication_buffer_bytes = 0;
  double total() const {
    return weights_bytes + gradients_bytes + optimizer_bytes + communication_buffer_bytes;
  }
};

struct RankProgram {
  int rank = 0;
  int device = 0;
  StaticMemory static_memory;
  // The rank's ops; empty where the program shares another's (below). Read them through
  // Plan::ops_of, and their groups and peers through Plan::group_of and Plan::peer_of.
  std::vector<Op> ops;
  // Ranks of a pipeline stage run one program on their own groups and pipeline peers, so a
  // program may run the ops of an earlier program of the plan rather than hold a copy (a plan of a
  // thousand ranks then holds a few programs, not a thousand): `shares` is that program's index in
  // Plan::ranks (-1: none; the program shared holds its own ops); each group its ops name maps to
  // this rank's through `group_map` (pairs sorted by the shared program's group), and each peer
  // is shifted by `peer_offset`.
  std::int32_t shares = -1;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> group_map;
  std::int32_t peer_offset = 0;
};

// Data-parallel symmetry: a plan may list the programs of one data-parallel replica and stand
// for `count` identical replicas. Ranks are numbered rank = inner + rank_stride·(replica +
// count·outer) with inner < rank_stride (the plan builder's layout: tensor and context parallel
// inside, pipeline outside); rank r of replica k runs the program of the listed rank
// r - k·rank_stride on that rank's device + k·rank_stride.
struct Replicas {
  int count = 1;
  int rank_stride = 1;

  int replica_of(int rank) const { return (rank / rank_stride) % count; }
  int listed_rank_of(int rank) const { return rank - replica_of(rank) * rank_stride; }
};

struct Plan {
  std::vector<std::string> labels;
  std::vector<ComputeBlock> blocks;
  std::vector<Group> groups;
  std::vector<RankProgram> ranks;  // in rank order; replica 0's only when replicas.count > 1
  Replicas replicas;

  // Ranks in the job: the listed ones and their copies in the other replicas, for a plan that
  // validate_plan accepts (at most max_devices ranks, so the product fits).
  int world_size() const { return static_cast<int>(ranks.size()) * replicas.count; }

  // The ops of listed rank `index` (an index into ranks): its own, or those it shares.
  const std::vector<Op>& ops_of(std::size_t index) const {
    const RankProgram& program = ranks[index];
    return program.shares < 0 ? program.ops : ranks[static_cast<std::size_t>(program.shares)].ops;
  }
  // The group (an index into groups) and the peer rank of one of those ops, for that rank. O(log
  // groups a program names). group_of throws PlanError for a group a sharing rank does not map.
  std::uint32_t group_of(std::size_t index, const Op& op) const;
  int peer_of(std::size_t index, const Op& op) const { return op.peer + ranks[index].peer_offset; }
  // Gives every program its own ops (copies, with its groups and peers): for callers that edit a
  // rank's ops in place.
  void unshare();

  // Index of a label, added if new.
  std::uint32_t label(std::string_view text);
  std::uint32_t add_block(ComputeBlock block);
  std::uint32_t add_group(Group group);

 private:
  std::unordered_map<std::string, std::uint32_t> label_index_;
};

// Where in a plan a problem is: the replicas, a group (by index), a listed rank (by its index in
// Plan::ranks) or one of its ops, so that a reader can point at the line.
struct PlanPlace {
  enum class Kind { plan, replicas, group, rank, op };
  Kind kind = Kind::plan;
  std::size_t index = 0;  // group: into Plan::groups; rank and op: into Plan::ranks
  std::size_t op = 0;     // op: into that rank's ops
};

// What validate_plan throws: the problem and where it is.
class PlanError : public std::invalid_argument {
 public:
  PlanError(const std::string& message, PlanPlace place)
      : std::invalid_argument(message), place_(place) {}
  const PlanPlace& place() const { return place_; }

 private:
  PlanPlace place_;
};

// Checks the invariants the engine relies on: the world (listed ranks × replicas) has 1 to
// max_devices ranks, every rank runs on a device index of 0 or more, dependencies point backwards,
// every collective has a matching op on every listed member of its group, every send has its
// receive, and with replicas, that the listed ranks are exactly replica 0's, that messages stay
// inside it and that a group spanning replicas spans replicas 0..w-1 with w dividing the count (so
// that its copies tile the others). Throws PlanError naming the first broken op (or group, rank,
// replicas).
void validate_plan(const Plan& plan);

}  // namespace scaleplan
