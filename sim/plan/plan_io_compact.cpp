// The compact plan format's reader (the writer and the checksum are plan_io_compact_write.cpp).
#include "sim/plan/plan_io_compact.hpp"

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <streambuf>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"
#include "sim/plan/plan_io_compact_bytes.hpp"

namespace scaleplan {

using namespace compact_detail;

namespace {

// Reads `bytes` as a stream, without a copy of them.
class MemoryStreamBuffer : public std::streambuf {
 public:
  explicit MemoryStreamBuffer(std::string_view bytes) {
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
};

// `text` as it may be quoted in a message: printable ASCII as it is, any other byte as \xNN.
std::string shown_bytes(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && u != '\\')
      out += c;
    else
      out += fmt::format("\\x{:02X}", u);
  }
  return out;
}

// "0 (compute), 1 (collective), 2 (send) or 3 (recv)": the codes of an enum and their names.
template <class Enum, std::size_t N>
std::string codes_of(const EnumNames<Enum, N>& names) {
  std::vector<std::string> codes;
  for (const std::string& name : names.names())
    codes.push_back(fmt::format("{} ({})", static_cast<int>(*names.parse(name)), name));
  return join_alternatives(codes);
}

// The keys of problems are built only when there is one.
template <class F>
concept KeyOf = std::invocable<F> && std::convertible_to<std::invoke_result_t<F>, std::string>;

class CompactPlanReader {
 public:
  CompactPlanReader(std::istream& in, const std::string& file, std::optional<std::uint64_t> size)
      : in_(in), file_(file), size_(size), buffer_(compact_read_buffer_bytes) {}

  Plan read() {
    read_header();
    read_labels();
    read_blocks();
    read_groups();
    read_ranks();
    read_end();
    validate();
    return std::move(plan_);
  }

 private:
  [[noreturn]] void fail(const std::string& key, std::uint64_t at, const std::string& message) {
    throw InputError({{{file_, 0, 0}, key, fmt::format("at byte {}: {}", at, message)}});
  }

  std::uint64_t offset() const { return base_ + begin_; }

  // The next n bytes (n at most the buffer), or a truncation error at `key`.
  template <KeyOf Key>
  const char* take(std::size_t n, const Key& key) {
    if (end_ - begin_ < n)
      refill(n, key);
    const char* p = buffer_.data() + begin_;
    begin_ += n;
    return p;
  }

  template <KeyOf Key>
  void refill(std::size_t n, const Key& key) {
    checksum_to_here();
    const std::size_t left = end_ - begin_;
    std::memmove(buffer_.data(), buffer_.data() + begin_, left);
    base_ += begin_;
    begin_ = 0;
    crc_from_ = 0;
    end_ = left;
    while (end_ < n && in_) {
      in_.read(buffer_.data() + end_, static_cast<std::streamsize>(buffer_.size() - end_));
      end_ += static_cast<std::size_t>(in_.gcount());
    }
    if (end_ < n) {
      fail(key(), base_ + end_,
           fmt::format("the file ends here, {} bytes into a field or record of {} bytes: it is "
                       "truncated (a compact plan ends with its {} record and checksum; write it "
                       "again)",
                       end_, n, end_tag));
    }
  }

  void checksum_to_here() {
    crc_ = plan_crc32({buffer_.data() + crc_from_, begin_ - crc_from_}, crc_);
    crc_from_ = begin_;
  }

  template <KeyOf Key>
  std::uint32_t u32(const Key& key) {
    return load<std::uint32_t>(take(4, key));
  }

  // A count of entries of at least `entry_bytes` each, refused when the bytes left cannot hold
  // them.
  template <KeyOf Key>
  std::uint32_t count(const Key& key, std::size_t entry_bytes, const char* what) {
    const std::uint64_t at = offset();
    const std::uint32_t n = u32(key);
    check_count(n, at, key, entry_bytes, what);
    return n;
  }

  // Refuses a count `n` read at `at` when the bytes left after what was read cannot hold it.
  template <KeyOf Key>
  void check_count(std::uint32_t n, std::uint64_t at, const Key& key, std::size_t entry_bytes,
                   const char* what) {
    if (size_ && *size_ >= offset()) {
      const std::uint64_t left = *size_ - offset();
      if (std::uint64_t{n} * entry_bytes > left) {
        fail(key(), at,
             fmt::format("{} {} need at least {} bytes, but the file has {} left: the count is "
                         "corrupt or the file is truncated",
                         n, what, std::uint64_t{n} * entry_bytes, left));
      }
    }
  }

  // How many of `n` entries to reserve room for: all when the file's size vouched for them, else
  // a few, growing as they arrive (so memory follows the bytes read, never a count).
  std::size_t reservable(std::uint32_t n) const {
    return size_ ? n : std::min<std::uint32_t>(n, 1u << 16);
  }

  template <KeyOf Key>
  std::string string(const Key& key) {
    std::uint32_t n = count(key, 1, "bytes of text");
    std::string s;
    s.reserve(reservable(n));
    while (n > 0) {
      if (begin_ == end_)
        refill(1, key);
      const std::size_t part = std::min<std::size_t>(n, end_ - begin_);
      s.append(buffer_.data() + begin_, part);
      begin_ += part;
      n -= static_cast<std::uint32_t>(part);
    }
    return s;
  }

  void section(std::string_view tag, const std::string& key, std::string_view what) {
    const std::uint64_t at = offset();
    const std::string_view found(take(4, [&] { return key; }), 4);
    if (found != tag) {
      fail(key, at,
           fmt::format("expected the {} (tag '{}'), found '{}': the file is corrupt, or written "
                       "by another version of the format",
                       what, tag, shown_bytes(found)));
    }
  }

  template <KeyOf Key>
  double quantity(const char* p, std::uint64_t at, const Key& key, double low) {
    const double v = load_f64(p);
    if (std::isnan(v))
      fail(key(), at,
           fmt::format("NaN is not a size; use a number from {} to {}", low, max_plan_quantity));
    if (v < low || v > max_plan_quantity) {
      fail(
          key(), at,
          fmt::format("{} is out of range; use a number from {} to {}", v, low, max_plan_quantity));
    }
    return v;
  }

  template <KeyOf Key>
  std::int32_t at_least(const char* p, std::uint64_t at, const Key& key, std::int32_t low) {
    const auto v = load<std::int32_t>(p);
    if (v < low) {
      fail(key(), at,
           fmt::format("{} is out of range; use a value from {} to {}", v, low,
                       std::numeric_limits<std::int32_t>::max()));
    }
    return v;
  }

  // An index into a table of `size` entries.
  template <KeyOf Key>
  std::uint32_t index(const char* p, std::uint64_t at, const Key& key, std::size_t size,
                      std::string_view table) {
    const auto v = load<std::uint32_t>(p);
    if (v >= size) {
      fail(key(), at,
           size == 0 ? fmt::format("{} is not a {} index: the plan has no {}s", v, table, table)
                     : fmt::format("{} is not a {} index; use 0 to {}", v, table, size - 1));
    }
    return v;
  }

  template <class Enum, std::size_t N, KeyOf Key>
  Enum code(const char* p, std::uint64_t at, const Key& key, const EnumNames<Enum, N>& names,
            std::string_view what) {
    const auto v = static_cast<unsigned char>(*p);
    if (v >= N)
      fail(key(), at, fmt::format("{} is not {}; use {}", v, what, codes_of(names)));
    return static_cast<Enum>(v);
  }

  void read_header() {
    const auto key = [] { return std::string(); };
    const std::uint64_t at = offset();
    if (size_ && *size_ < header_bytes) {
      fail("", 0,
           fmt::format("{} bytes are too few for a compact plan (its header alone is {})", *size_,
                       header_bytes));
    }
    const char* p = take(header_bytes, key);
    if (!starts_as_compact_plan({p, 8})) {
      fail("", at,
           fmt::format("'{}' is not a compact plan's signature ({}): the file is not a compact "
                       "plan, or was copied as text",
                       shown_bytes({p, 8}), shown_bytes(compact_plan_magic)));
    }
    const auto version = load<std::uint32_t>(p + 8);
    if (version != compact_plan_version) {
      fail("version", at + 8,
           fmt::format("compact plan version {}; this build reads version {} (write the plan "
                       "again with this build's `scaleplan run --dump-plan`)",
                       version, compact_plan_version));
    }
    const auto flags = load<std::uint32_t>(p + 12);
    if ((flags & ~expert_dispatch_flag) != 0) {
      fail("flags", at + 12,
           fmt::format("flags {:#x}; version 1 defines only {:#x} (groups carry an expert "
                       "dispatch), use 0 or {:#x}",
                       flags, expert_dispatch_flag, expert_dispatch_flag));
    }
    dispatches_ = flags == expert_dispatch_flag;
    plan_.replicas.count = at_least(
        p + 16, at + 16, [] { return "replicas.count"; }, 1);
    plan_.replicas.rank_stride = at_least(
        p + 20, at + 20, [] { return "replicas.rank_stride"; }, 1);
  }

  void read_labels() {
    section(labels_tag, "labels", "labels section");
    const std::uint32_t n = count([] { return "labels"; }, min_string_bytes, "labels");
    plan_.labels.reserve(reservable(n));
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint64_t at = offset();
      const auto key = [i] { return fmt::format("labels[{}]", i); };
      const std::string text = string(key);
      if (const std::uint32_t index = plan_.label(text); index != i) {
        fail(key(), at,
             fmt::format("'{}' repeats labels[{}]; labels are distinct (ops name them by index)",
                         shown_bytes(text), index));
      }
    }
  }

  void read_blocks() {
    section(blocks_tag, "blocks", "blocks section");
    const std::uint32_t n = count([] { return "blocks"; }, min_block_bytes, "blocks");
    plan_.blocks.reserve(reservable(n));
    for (std::uint32_t b = 0; b < n; ++b) {
      const auto block_key = [b] { return fmt::format("blocks[{}]", b); };
      ComputeBlock block;
      block.name = string([&] { return block_key() + ".name"; });
      const std::uint32_t kernels =
          count([&] { return block_key() + ".kernels"; }, min_kernel_bytes, "kernels");
      block.kernels.reserve(reservable(kernels));
      for (std::uint32_t k = 0; k < kernels; ++k) {
        const auto key = [&, k](const char* field) {
          return [&, k, field] { return fmt::format("blocks[{}].kernels[{}]{}", b, k, field); };
        };
        Kernel kernel;
        kernel.name = string(key(".name"));
        const std::uint64_t at = offset();
        const char* p = take(kernel_fixed_bytes, key(""));
        kernel.kind = code(p, at, key(".kind"), kernel_kind_names, "a kernel kind");
        kernel.dtype = code(p + 1, at + 1, key(".dtype"), dtype_names, "a dtype");
        kernel.attention_library = code(p + 2, at + 2, key(".attention_library"),
                                        attention_library_names, "an attention library");
        if (const auto flags = static_cast<unsigned char>(p[3]); flags > 1) {
          fail(key(".attention_product")(), at + 3,
               fmt::format("flag byte {:#x}; use 0 (a fused or other kernel) or 1 (materialised "
                           "attention's product)",
                           flags));
        }
        kernel.attention_product = p[3] == 1;
        kernel.flops = quantity(p + 4, at + 4, key(".flops"), 0);
        kernel.bytes = quantity(p + 12, at + 12, key(".bytes"), 0);
        std::size_t field = 20;
        for (auto [name, value] : {std::pair<const char*, std::int64_t*>{".m", &kernel.gemm.m},
                                   {".n", &kernel.gemm.n},
                                   {".k", &kernel.gemm.k},
                                   {".batch", &kernel.gemm.batch}}) {
          *value = load<std::int64_t>(p + field);
          if (*value < 0) {
            fail(key(name)(), at + field,
                 fmt::format("{} is out of range; use a value from 0 to {}", *value,
                             std::numeric_limits<std::int64_t>::max()));
          }
          field += 8;
        }
        block.kernels.push_back(std::move(kernel));
      }
      plan_.add_block(std::move(block));
    }
  }

  void read_groups() {
    section(groups_tag, "groups", "groups section");
    const std::uint32_t n = count([] { return "groups"; }, min_group_bytes, "groups");
    plan_.groups.reserve(reservable(n));
    group_offsets_.reserve(reservable(n));
    for (std::uint32_t g = 0; g < n; ++g) {
      group_offsets_.push_back(offset());
      const auto key = [g](const char* field) {
        return [g, field] { return fmt::format("groups[{}]{}", g, field); };
      };
      Group group;
      group.name = string(key(".name"));
      const std::uint32_t ranks = count(key(".ranks"), 4, "ranks");
      group.ranks.reserve(reservable(ranks));
      for (std::uint32_t j = 0; j < ranks; ++j) {
        const std::uint64_t at = offset();
        const auto rank_key = [g, j] { return fmt::format("groups[{}].ranks[{}]", g, j); };
        group.ranks.push_back(at_least(take(4, rank_key), at, rank_key, 0));
      }
      if (dispatches_)
        group.expert_dispatch = read_expert_dispatch(key(".expert_dispatch"));
      plan_.add_group(std::move(group));
    }
  }

  void read_ranks() {
    section(ranks_tag, "ranks", "ranks section");
    const std::uint32_t n = count([] { return "ranks"; }, min_rank_bytes, "ranks");
    plan_.ranks.reserve(reservable(n));
    rank_offsets_.reserve(reservable(n));
    ops_offsets_.reserve(reservable(n));
    for (std::uint32_t r = 0; r < n; ++r) {
      rank_offsets_.push_back(offset());
      plan_.ranks.push_back(read_rank(r));
    }
  }

  RankProgram read_rank(std::uint32_t r) {
    const auto key = [r](const char* field) {
      return [r, field] { return fmt::format("ranks[{}]{}", r, field); };
    };
    RankProgram program;
    const std::uint64_t at = offset();
    const char* p = take(rank_fixed_bytes, key(""));
    program.rank = at_least(p, at, key(".rank"), 0);
    program.device = at_least(p + 4, at + 4, key(".device"), 0);
    StaticMemory& m = program.static_memory;
    m.weights_bytes = quantity(p + 8, at + 8, key(".static_memory.weights_bytes"), 0);
    m.gradients_bytes = quantity(p + 16, at + 16, key(".static_memory.gradients_bytes"), 0);
    m.optimizer_bytes = quantity(p + 24, at + 24, key(".static_memory.optimizer_bytes"), 0);
    m.communication_buffer_bytes =
        quantity(p + 32, at + 32, key(".static_memory.communication_buffer_bytes"), 0);
    program.shares = load<std::int32_t>(p + 40);
    if (program.shares < -1 || program.shares >= static_cast<std::int64_t>(r)) {
      fail(key(".shares")(), at + 40,
           r == 0 ? fmt::format("{}; the first rank holds its own ops: use -1", program.shares)
                  : fmt::format("{}; use -1 (the rank holds its own ops) or the index of an "
                                "earlier rank whose ops it runs, 0 to {}",
                                program.shares, r - 1));
    }
    if (program.shares >= 0 && plan_.ranks[static_cast<std::size_t>(program.shares)].shares >= 0) {
      fail(key(".shares")(), at + 40,
           fmt::format("ranks[{}] shares another rank's ops itself; share the ops of a rank that "
                       "holds its own (ranks[{}])",
                       program.shares,
                       plan_.ranks[static_cast<std::size_t>(program.shares)].shares));
    }
    program.peer_offset = load<std::int32_t>(p + 44);
    const std::uint32_t mapped = load<std::uint32_t>(p + 48);
    check_count(mapped, at + 48, key(".group_map"), 8, "group map entries");
    if (program.shares < 0 && (mapped != 0 || program.peer_offset != 0)) {
      fail(key(".shares")(), at + 40,
           "a rank that holds its own ops (shares -1) has no group map and a peer offset of 0");
    }
    program.group_map.reserve(reservable(mapped));
    for (std::uint32_t k = 0; k < mapped; ++k) {
      const std::uint64_t entry_at = offset();
      const auto entry_key = [r, k] { return fmt::format("ranks[{}].group_map[{}]", r, k); };
      const char* e = take(8, entry_key);
      const auto from = load<std::uint32_t>(e);
      const std::uint32_t to = index(e + 4, entry_at + 4, entry_key, plan_.groups.size(), "group");
      if (k > 0 && program.group_map.back().first >= from) {
        fail(entry_key(), entry_at,
             fmt::format("group {} follows group {}: a group map lists each group of the shared "
                         "program once, in ascending order",
                         from, program.group_map.back().first));
      }
      program.group_map.emplace_back(from, to);
    }
    const std::uint64_t ops_at = offset();
    const std::uint32_t ops = count(key(".ops"), compact_op_record_bytes, "op records");
    if (program.shares >= 0 && ops != 0) {
      fail(key(".ops")(), ops_at,
           fmt::format("{} ops in a rank that shares the ops of ranks[{}]; it holds none", ops,
                       program.shares));
    }
    ops_offsets_.push_back(offset());
    program.ops.reserve(reservable(ops));
    for (std::uint32_t i = 0; i < ops; ++i)
      program.ops.push_back(read_op(r, i));
    op_records_ += ops;
    return program;
  }

  // A group's u8 0 (none) or 1 and the dispatch record: codes within their names, counts 1 or
  // more, a routing expert_set_missed_probability accepts, copies more than 0.
  template <KeyOf Key>
  std::optional<ExpertDispatch> read_expert_dispatch(const Key& key) {
    const std::uint64_t at = offset();
    const auto present = static_cast<unsigned char>(*take(1, key));
    if (present > 1)
      fail(key(), at, fmt::format("{} is not 0 (no expert dispatch) or 1", present));
    if (present == 0)
      return std::nullopt;
    const std::uint64_t r_at = offset();
    const char* p = take(expert_dispatch_bytes, key);
    ExpertDispatch x;
    x.dispatcher = code(p, r_at, key, moe_dispatcher_names, "a dispatcher");
    x.routing.kind = code(p + 1, r_at + 1, key, expert_routing_kind_names, "a routing");
    std::int64_t* counts[] = {&x.routing.experts, &x.routing.top_k, &x.routing.router_groups,
                              &x.routing.router_group_topk};
    // As the YAML reader: at most 2^20 (the routing's work grows with the experts).
    const std::int64_t most = std::int64_t{1} << 20;
    for (std::size_t i = 0; i < 4; ++i) {
      *counts[i] = load<std::int64_t>(p + 8 + 8 * i);
      if (*counts[i] < 1 || *counts[i] > most) {
        fail(key(), r_at + 8 + 8 * i,
             fmt::format("{} is out of range; use a value from 1 to {}", *counts[i], most));
      }
    }
    x.copies_per_token = quantity(p + 40, r_at + 40, key, 0);
    if (x.copies_per_token <= 0)
      fail(key(), r_at + 40, "copies per token must be more than 0");
    try {
      expert_set_missed_probability(x.routing, {});
    } catch (const std::invalid_argument& e) {
      fail(key(), r_at, e.what());
    }
    return x;
  }

  Op read_op(std::uint32_t r, std::uint32_t i) {
    const auto key = [r, i](const char* field) {
      return [r, i, field] { return fmt::format("ranks[{}].ops[{}]{}", r, i, field); };
    };
    const std::uint64_t at = offset();
    const char* p = take(compact_op_record_bytes, key(""));
    Op op;
    op.kind = code(p, at, key(".kind"), op_kind_names, "an op kind");
    op.stream = code(p + 1, at + 1, key(".stream"), stream_names, "a stream");
    op.collective = code(p + 2, at + 2, key(".collective"), collective_kind_names, "a collective");
    if (p[3] != 0)
      fail(key("")(), at + 3,
           fmt::format("flags {:#x}; version 1 defines none, use 0",
                       static_cast<unsigned char>(p[3])));
    op.label = index(p + 4, at + 4, key(".label"), plan_.labels.size(), "label");
    op.block = load<std::uint32_t>(p + 8);
    if (op.kind == OpKind::compute)
      index(p + 8, at + 8, key(".block"), plan_.blocks.size(), "block");
    op.group = load<std::uint32_t>(p + 12);
    if (op.kind == OpKind::collective)
      index(p + 12, at + 12, key(".group"), plan_.groups.size(), "group");
    op.peer = load<std::int32_t>(p + 16);
    op.microbatch = at_least(p + 20, at + 20, key(".microbatch"), -1);
    op.bytes = quantity(p + 24, at + 24, key(".bytes"), 0);
    op.activation_bytes = quantity(p + 32, at + 32, key(".activation_bytes"), -max_plan_quantity);
    const auto deps = load<std::uint32_t>(p + 40);
    check_count(deps, at + 40, key(".deps"), 4, "dependencies");
    op.deps.reserve(reservable(deps));
    for (std::uint32_t j = 0; j < deps; ++j) {
      const std::uint64_t dep_at = offset();
      const auto dep = load<std::uint32_t>(take(4, key(".deps")));
      if (dep >= i) {
        fail(key(".deps")(), dep_at,
             fmt::format(
                 "op {} is not an earlier op of this rank (dependencies point backwards; "
                 "a cycle cannot run): use 0 to {}",
                 dep,
                 i == 0 ? std::string("(none: op 0 has no earlier op)") : std::to_string(i - 1)));
      }
      op.deps.push_back(dep);
    }
    return op;
  }

  void read_end() {
    const std::uint64_t at = offset();
    section(end_tag, "", "end of the plan");
    const auto counted = load<std::uint64_t>(take(8, [] { return std::string(); }));
    if (counted != op_records_) {
      fail("", at + 4,
           fmt::format("the end record counts {} op records, but the file holds {}: it is corrupt",
                       counted, op_records_));
    }
    checksum_to_here();
    const std::uint64_t crc_at = offset();
    const auto written = load<std::uint32_t>(take(4, [] { return std::string(); }));
    if (written != crc_) {
      fail("", crc_at,
           fmt::format("the checksum is {:#010x}, but the bytes before it give {:#010x}: the file "
                       "was changed or damaged after it was written",
                       written, crc_));
    }
    // Nothing may follow.
    if (begin_ == end_ && in_) {
      in_.read(buffer_.data(), 1);
      base_ += end_;
      begin_ = 0;
      end_ = static_cast<std::size_t>(in_.gcount());
    }
    if (begin_ < end_) {
      fail("", offset(),
           "bytes follow the end of the plan (its checksum): the file holds more than one plan, or "
           "was appended to");
    }
  }

  // validate_plan's problem, placed at the record it is about.
  void validate() {
    try {
      validate_plan(plan_);
    } catch (const PlanError& e) {
      const PlanPlace& place = e.place();
      using Kind = PlanPlace::Kind;
      switch (place.kind) {
        case Kind::plan:
          throw InputError({{{file_, 0, 0}, "", e.what()}});
        case Kind::replicas:
          fail("replicas", 16, e.what());
        case Kind::group:
          fail(fmt::format("groups[{}]", place.index), group_offsets_[place.index], e.what());
        case Kind::rank:
          fail(fmt::format("ranks[{}]", place.index), rank_offsets_[place.index], e.what());
        case Kind::op: {
          // The op's record: in the program the rank shares, if it shares one.
          const std::int32_t shares = plan_.ranks[place.index].shares;
          const std::size_t holder = shares < 0 ? place.index : static_cast<std::size_t>(shares);
          std::uint64_t at = ops_offsets_[holder];
          const std::vector<Op>& ops = plan_.ranks[holder].ops;
          for (std::size_t i = 0; i < place.op; ++i)
            at += compact_op_record_bytes + 4 * ops[i].deps.size();
          const std::string shared =
              shares < 0 ? ""
                         : fmt::format(" (the record of ranks[{}], whose ops it runs)", holder);
          fail(fmt::format("ranks[{}].ops[{}]", place.index, place.op), at,
               std::string(e.what()) + shared);
        }
      }
      throw;
    }
  }

  std::istream& in_;
  const std::string& file_;
  std::optional<std::uint64_t> size_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;     // the next byte to read, in buffer_
  std::size_t end_ = 0;       // the end of what buffer_ holds
  std::size_t crc_from_ = 0;  // the first byte of buffer_ not yet in crc_
  std::uint64_t base_ = 0;    // the file offset of buffer_[0]
  std::uint32_t crc_ = 0;
  std::uint64_t op_records_ = 0;
  std::vector<std::uint64_t> group_offsets_, rank_offsets_, ops_offsets_;
  bool dispatches_ = false;  // the header's expert_dispatch_flag
  Plan plan_;
};

}  // namespace

Plan read_plan_compact(std::istream& in, const std::string& file_label,
                       std::optional<std::uint64_t> size_bytes) {
  return CompactPlanReader(in, file_label, size_bytes).read();
}

Plan parse_plan_compact(std::string_view bytes, const std::string& file_label) {
  MemoryStreamBuffer buffer(bytes);
  std::istream in(&buffer);
  return read_plan_compact(in, file_label, bytes.size());
}

}  // namespace scaleplan
