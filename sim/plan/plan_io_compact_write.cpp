// The compact plan format's writer and its checksum (the reader is plan_io_compact.cpp).
#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/plan/plan_io_compact.hpp"
#include "sim/plan/plan_io_compact_bytes.hpp"

namespace scaleplan {

using namespace compact_detail;

namespace {

// CRC-32 by slicing by 8: a table for each of 8 bytes consumed at once.
constexpr std::array<std::array<std::uint32_t, 256>, 8> crc_tables = [] {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit)
      c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s)
      t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xffu];
  }
  return t;
}();

class CompactPlanWriter {
 public:
  explicit CompactPlanWriter(std::ostream& out) : out_(out) { buffer_.reserve(chunk_bytes); }

  void bytes(std::string_view b) {
    buffer_.append(b);
    if (buffer_.size() >= chunk_bytes)
      flush();
  }
  template <class T>
  void put(T value) {
    char b[sizeof(T)];
    store(b, value);
    bytes({b, sizeof b});
  }
  void f64(double value) { put(std::bit_cast<std::uint64_t>(value)); }
  void count(std::size_t n, const char* what) {
    if (n > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error(
          fmt::format("plan: {} {}: the compact format counts to 2^32 - 1", n, what));
    put(static_cast<std::uint32_t>(n));
  }
  void string(std::string_view s) {
    count(s.size(), "bytes in a name");
    bytes(s);
  }
  // Ends the file: the checksum of everything before it.
  void finish() {
    flush();
    char b[4];
    store(b, crc_);
    out_.write(b, sizeof b);
  }

 private:
  static constexpr std::size_t chunk_bytes = 1u << 20;
  void flush() {
    crc_ = plan_crc32(buffer_, crc_);
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
  std::ostream& out_;
  std::string buffer_;
  std::uint32_t crc_ = 0;
};

void write_op(CompactPlanWriter& w, const Op& op) {
  char r[compact_op_record_bytes];
  r[0] = static_cast<char>(op.kind);
  r[1] = static_cast<char>(op.stream);
  r[2] = static_cast<char>(op.collective);
  r[3] = 0;
  store(r + 4, op.label);
  store(r + 8, op.block);
  store(r + 12, op.group);
  store(r + 16, op.peer);
  store(r + 20, op.microbatch);
  store_f64(r + 24, op.bytes);
  store_f64(r + 32, op.activation_bytes);
  if (op.deps.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("plan: an op with 2^32 dependencies or more");
  store(r + 40, static_cast<std::uint32_t>(op.deps.size()));
  w.bytes({r, sizeof r});
  for (std::uint32_t dep : op.deps)
    w.put(dep);
}

}  // namespace

std::uint32_t plan_crc32(std::string_view bytes, std::uint32_t crc) {
  const auto& t = crc_tables;
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  crc = ~crc;
  while (n >= 8) {
    const std::uint32_t lo = load<std::uint32_t>(p) ^ crc;
    const std::uint32_t hi = load<std::uint32_t>(p + 4);
    crc = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0)
    crc = t[0][(crc ^ static_cast<unsigned char>(*p++)) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

bool starts_as_compact_plan(std::string_view first_bytes) {
  return first_bytes.substr(0, compact_plan_magic.size()) == compact_plan_magic;
}

void write_plan_compact(const Plan& plan, std::ostream& out) {
  CompactPlanWriter w(out);
  w.bytes(compact_plan_magic);
  w.put(compact_plan_version);
  const bool dispatches = std::any_of(plan.groups.begin(), plan.groups.end(),
                                      [](const Group& g) { return g.expert_dispatch.has_value(); });
  w.put(dispatches ? expert_dispatch_flag : std::uint32_t{0});
  w.put(std::int32_t{plan.replicas.count});
  w.put(std::int32_t{plan.replicas.rank_stride});

  w.bytes(labels_tag);
  w.count(plan.labels.size(), "labels");
  for (const std::string& label : plan.labels)
    w.string(label);

  w.bytes(blocks_tag);
  w.count(plan.blocks.size(), "blocks");
  for (const ComputeBlock& block : plan.blocks) {
    w.string(block.name);
    w.count(block.kernels.size(), "kernels in a block");
    for (const Kernel& k : block.kernels) {
      w.string(k.name);
      char r[kernel_fixed_bytes];
      r[0] = static_cast<char>(k.kind);
      r[1] = static_cast<char>(k.dtype);
      r[2] = static_cast<char>(k.attention_library);
      r[3] = static_cast<char>(k.attention_product ? 1 : 0);
      store_f64(r + 4, k.flops);
      store_f64(r + 12, k.bytes);
      store(r + 20, k.gemm.m);
      store(r + 28, k.gemm.n);
      store(r + 36, k.gemm.k);
      store(r + 44, k.gemm.batch);
      w.bytes({r, sizeof r});
    }
  }

  w.bytes(groups_tag);
  w.count(plan.groups.size(), "groups");
  for (const Group& group : plan.groups) {
    w.string(group.name);
    w.count(group.ranks.size(), "ranks in a group");
    for (int rank : group.ranks)
      w.put(std::int32_t{rank});
    if (!dispatches)
      continue;
    w.put(static_cast<std::uint8_t>(group.expert_dispatch ? 1 : 0));
    if (const auto& x = group.expert_dispatch) {
      char r[expert_dispatch_bytes];
      r[0] = static_cast<char>(x->dispatcher);
      r[1] = static_cast<char>(x->routing.kind);
      store(r + 2, std::uint16_t{0});
      store(r + 4, std::uint32_t{0});
      store(r + 8, x->routing.experts);
      store(r + 16, x->routing.top_k);
      store(r + 24, x->routing.router_groups);
      store(r + 32, x->routing.router_group_topk);
      store_f64(r + 40, x->copies_per_token);
      w.bytes({r, sizeof r});
    }
  }

  w.bytes(ranks_tag);
  w.count(plan.ranks.size(), "ranks");
  std::uint64_t op_records = 0;
  for (const RankProgram& program : plan.ranks) {
    w.put(std::int32_t{program.rank});
    w.put(std::int32_t{program.device});
    const StaticMemory& m = program.static_memory;
    for (double v :
         {m.weights_bytes, m.gradients_bytes, m.optimizer_bytes, m.communication_buffer_bytes})
      w.f64(v);
    w.put(std::int32_t{program.shares});
    w.put(std::int32_t{program.peer_offset});
    w.count(program.group_map.size(), "group map entries");
    for (const auto& [from, to] : program.group_map) {
      w.put(from);
      w.put(to);
    }
    w.count(program.ops.size(), "ops in a rank");
    for (const Op& op : program.ops)
      write_op(w, op);
    op_records += program.ops.size();
  }

  w.bytes(end_tag);
  w.put(op_records);
  w.finish();
}

}  // namespace scaleplan
