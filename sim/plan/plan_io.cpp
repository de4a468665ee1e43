#include "sim/plan/plan_io.hpp"

#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {

namespace {

// Shortest text that reads back to the same double.
std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

// A YAML double-quoted scalar that reads back as `text`: quotes, backslashes and every character
// YAML does not allow raw (C0 and C1 controls, DEL) are escaped, so that a label with a newline
// in it does not come back folded into a space.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02X", c);
      out += escape;
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      // U+0080..U+009F, two bytes in UTF-8.
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned char>(text[++i]));
      out += escape;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

void write_plan(const Plan& plan, std::ostream& out) {
  out << "# scaleplan plan: the per-rank programs of one training step (docs/plan-format.md)\n";
  out << "format: scaleplan-plan\nversion: " << plan_format_version << "\n";
  if (plan.replicas.count > 1) {
    out << "replicas: {count: " << plan.replicas.count
        << ", rank_stride: " << plan.replicas.rank_stride << "}\n";
  }
  out << "labels:\n";
  for (const auto& label : plan.labels)
    out << "  - " << quoted(label) << "\n";
  out << "blocks:\n";
  for (const auto& block : plan.blocks) {
    out << "  - name: " << quoted(block.name) << "\n    kernels:\n";
    for (const auto& k : block.kernels) {
      out << "      - {name: " << quoted(k.name) << ", kind: " << to_string(k.kind)
          << ", dtype: " << to_string(k.dtype) << ", flops: " << number(k.flops)
          << ", bytes: " << number(k.bytes);
      if (k.kind == KernelKind::gemm || k.kind == KernelKind::attention) {
        out << ", m: " << k.gemm.m << ", n: " << k.gemm.n << ", k: " << k.gemm.k
            << ", batch: " << k.gemm.batch;
      }
      if (k.attention_library != AttentionLibrary::cudnn)
        out << ", attention_library: " << to_string(k.attention_library);
      if (k.attention_product)
        out << ", attention_product: true";
      out << "}\n";
    }
  }
  out << "groups:\n";
  for (const auto& g : plan.groups) {
    out << "  - {name: " << quoted(g.name) << ", ranks: [";
    for (std::size_t i = 0; i < g.ranks.size(); ++i)
      out << (i ? ", " : "") << g.ranks[i];
    out << "]";
    if (const auto& x = g.expert_dispatch) {
      out << ", expert_dispatch: {dispatcher: " << to_string(x->dispatcher)
          << ", routing: " << to_string(x->routing.kind) << ", experts: " << x->routing.experts
          << ", top_k: " << x->routing.top_k << ", router_groups: " << x->routing.router_groups
          << ", router_group_topk: " << x->routing.router_group_topk
          << ", copies_per_token: " << number(x->copies_per_token) << "}";
    }
    out << "}\n";
  }
  out << "ranks:\n";
  for (std::size_t index = 0; index < plan.ranks.size(); ++index) {
    // A program that shares another's ops is written out whole, with its own groups and peers.
    const RankProgram& r = plan.ranks[index];
    const auto& m = r.static_memory;
    out << "  - rank: " << r.rank << "\n    device: " << r.device
        << "\n    static_memory: {weights_bytes: " << number(m.weights_bytes)
        << ", gradients_bytes: " << number(m.gradients_bytes)
        << ", optimizer_bytes: " << number(m.optimizer_bytes)
        << ", communication_buffer_bytes: " << number(m.communication_buffer_bytes) << "}\n";
    out << "    ops:\n";
    for (const auto& op : plan.ops_of(index)) {
      out << "      - {kind: " << to_string(op.kind) << ", stream: " << to_string(op.stream)
          << ", label: " << op.label;
      switch (op.kind) {
        case OpKind::compute:
          out << ", block: " << op.block;
          if (op.activation_bytes != 0)
            out << ", activation_bytes: " << number(op.activation_bytes);
          break;
        case OpKind::collective:
          out << ", collective: " << to_string(op.collective)
              << ", group: " << plan.group_of(index, op) << ", bytes: " << number(op.bytes);
          break;
        case OpKind::send:
        case OpKind::recv:
          out << ", peer: " << plan.peer_of(index, op) << ", bytes: " << number(op.bytes);
          break;
      }
      if (op.microbatch >= 0)
        out << ", microbatch: " << op.microbatch;
      if (!op.deps.empty()) {
        out << ", deps: [";
        for (std::size_t i = 0; i < op.deps.size(); ++i)
          out << (i ? ", " : "") << op.deps[i];
        out << "]";
      }
      out << "}\n";
    }
  }
}

std::uint64_t plan_yaml_values(const Plan& plan) {
  // As write_plan writes them: a key and its value are two, a map or a list one more.
  std::uint64_t values = 1 + 2 + 2;  // the file's map, format, version
  if (plan.replicas.count > 1)
    values += 2 + 4;
  values += 2 + plan.labels.size();
  values += 2;
  for (const ComputeBlock& block : plan.blocks) {
    values += 1 + 2 + 2;
    for (const Kernel& k : block.kernels) {
      const bool gemm = k.kind == KernelKind::gemm || k.kind == KernelKind::attention;
      values += 1 + 10 + (gemm ? 8 : 0);
    }
  }
  values += 2;
  for (const Group& group : plan.groups)
    values += 1 + 2 + 2 + group.ranks.size() + (group.expert_dispatch ? 2 + 7 * 2 : 0);
  values += 2;
  for (std::size_t index = 0; index < plan.ranks.size(); ++index) {
    values += 1 + 2 + 2 + 2 + 8 + 2;
    for (const Op& op : plan.ops_of(index)) {
      values += 1 + 6;
      switch (op.kind) {
        case OpKind::compute:
          values += 2 + (op.activation_bytes != 0 ? 2 : 0);
          break;
        case OpKind::collective:
          values += 6;
          break;
        case OpKind::send:
        case OpKind::recv:
          values += 4;
          break;
      }
      values += (op.microbatch >= 0 ? 2 : 0) + (op.deps.empty() ? 0 : 2 + op.deps.size());
    }
  }
  return values;
}

namespace {

// An index into one of the plan's tables (labels, blocks, groups), which has `size` entries.
std::optional<std::uint32_t> index_key(MapReader& map, std::string_view key, std::size_t size,
                                       std::string_view table) {
  if (!map.require(key))
    return std::nullopt;
  const auto v = map.integer(key);
  if (!v)
    return std::nullopt;
  if (*v < 0 || static_cast<std::uint64_t>(*v) >= size) {
    map.error(key, fmt::format("{} is not a valid {} index (there are {})", *v, table, size));
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*v);
}

// An int-sized key: a value past the range of int is refused rather than wrapped (a peer of
// 2^32 + 1 must not quietly become rank 1).
std::optional<std::int32_t> int_key(MapReader& map, std::string_view key, std::int64_t low) {
  const auto v = map.integer(key, low, std::numeric_limits<std::int32_t>::max());
  return v ? std::optional<std::int32_t>(static_cast<std::int32_t>(*v)) : std::nullopt;
}

// An index or rank in a list (a group's ranks, an op's dependencies): a decimal integer from 0 to
// the range of int.
std::optional<std::int32_t> list_item(const YAML::Node& item, Diagnostics& diagnostics,
                                      const std::string& path, const char* what) {
  std::string problem;
  const auto v = item.IsScalar() ? decimal_integer(item.Scalar(), problem) : std::nullopt;
  if (!v) {
    // A value that is no integer at all is named by what it should be.
    if (problem.empty() || problem.starts_with("expected"))
      problem = fmt::format("expected {}, got '{}'", what, item.IsScalar() ? item.Scalar() : "");
    diagnostics.error(item, path, problem);
    return std::nullopt;
  }
  if (*v < 0 || *v > std::numeric_limits<std::int32_t>::max()) {
    diagnostics.error(item, path,
                      fmt::format("{} is out of range for {}; use a value from 0 to {}", *v, what,
                                  std::numeric_limits<std::int32_t>::max()));
    return std::nullopt;
  }
  return static_cast<std::int32_t>(*v);
}

// A group's expert_dispatch: the dispatcher, a routing that expert_set_missed_probability
// accepts, and the copies of each token an all-to-all's bytes count (more than 0).
ExpertDispatch read_expert_dispatch(MapReader& group) {
  MapReader x = group.child("expert_dispatch");
  ExpertDispatch dispatch;
  if (auto v = x.enumeration("dispatcher", moe_dispatcher_names))
    dispatch.dispatcher = *v;
  else if (!x.has("dispatcher"))
    x.error("dispatcher", "is required: " + join_alternatives(moe_dispatcher_names.names()));
  ExpertRouting& r = dispatch.routing;
  if (auto v = x.enumeration("routing", expert_routing_kind_names))
    r.kind = *v;
  // As the scenario's dimensions: at most 2^20 (the routing's work grows with the experts).
  const std::int64_t most = std::int64_t{1} << 20;
  for (auto [key, field] : {std::pair<const char*, std::int64_t*>{"experts", &r.experts},
                            {"top_k", &r.top_k},
                            {"router_groups", &r.router_groups},
                            {"router_group_topk", &r.router_group_topk}}) {
    if (auto v = x.integer(key, 1, most, 1))
      *field = *v;
  }
  if (auto v = x.number("copies_per_token", NumberRange::positive(max_plan_quantity), 1.0))
    dispatch.copies_per_token = *v;
  if (x.diagnostics().empty()) {
    try {
      expert_set_missed_probability(r, {});
    } catch (const std::invalid_argument& e) {
      x.error("routing", e.what());
    }
  }
  x.finish();
  return dispatch;
}

// Sizes up to max_plan_quantity; what is still too long for the simulator is an error at its op.
double quantity(MapReader& map, std::string_view key) {
  return map.number(key, NumberRange::non_negative(max_plan_quantity), 0.0).value_or(0);
}

// Where `place` is in the file, and its key path ("ranks[2].ops[7]").
std::pair<SourceLocation, std::string> locate(const YAML::Node& root, const PlanPlace& place,
                                              const std::string& file) {
  using Kind = PlanPlace::Kind;
  switch (place.kind) {
    case Kind::plan:
      break;
    case Kind::replicas:
      return {location_of(root["replicas"], file), "replicas"};
    case Kind::group:
      return {location_of(root["groups"][place.index], file),
              fmt::format("groups[{}]", place.index)};
    case Kind::rank:
      return {location_of(root["ranks"][place.index], file), fmt::format("ranks[{}]", place.index)};
    case Kind::op:
      return {location_of(root["ranks"][place.index]["ops"][place.op], file),
              fmt::format("ranks[{}].ops[{}]", place.index, place.op)};
  }
  return {SourceLocation{file, 0, 0}, ""};
}

}  // namespace

PlanFileFormat plan_format_for(const std::filesystem::path& path) {
  return path.extension() == compact_plan_extension ? PlanFileFormat::compact
                                                    : PlanFileFormat::yaml;
}

void write_plan(const Plan& plan, std::ostream& out, PlanFileFormat format) {
  if (format == PlanFileFormat::compact)
    write_plan_compact(plan, out);
  else
    write_plan(plan, out);
}

namespace {

Plan parse_plan_yaml(std::string_view yaml_text, const std::string& file_label) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  Diagnostics diagnostics(file_label);
  MapReader top(root, "", diagnostics);
  top.header("scaleplan-plan", "plan", plan_format_version);
  diagnostics.throw_if_any();

  Plan plan;
  if (top.has("replicas")) {
    MapReader replicas = top.child("replicas");
    plan.replicas.count = int_key(replicas, "count", 1).value_or(1);
    plan.replicas.rank_stride = int_key(replicas, "rank_stride", 1).value_or(1);
    replicas.finish();
  }
  const auto labels = top.sequence("labels");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const YAML::Node& item = labels[i];
    if (!item.IsScalar()) {
      diagnostics.error(item, "labels", "expected a string");
      continue;
    }
    // Ops name labels by index: a repeated label, interned once, would shift every later index.
    if (const std::uint32_t index = plan.label(item.Scalar()); index != plan.labels.size() - 1) {
      diagnostics.error(item, "labels",
                        fmt::format("{} repeats labels[{}]; labels are distinct (ops name them "
                                    "by index)",
                                    quoted(item.Scalar()), index));
    }
  }
  const auto blocks = top.sequence("blocks");
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    MapReader block(blocks[b], "blocks[" + std::to_string(b) + "]", diagnostics);
    ComputeBlock cb;
    cb.name = block.string("name").value_or("");
    const auto kernels = block.sequence("kernels");
    for (std::size_t k = 0; k < kernels.size(); ++k) {
      MapReader kr(kernels[k], block.path_of("kernels") + "[" + std::to_string(k) + "]",
                   diagnostics);
      Kernel kernel;
      kernel.name = kr.string("name").value_or("");
      if (auto kind = kr.enumeration("kind", kernel_kind_names))
        kernel.kind = *kind;
      if (auto dtype = kr.enumeration("dtype", dtype_names))
        kernel.dtype = *dtype;
      kernel.flops = quantity(kr, "flops");
      kernel.bytes = quantity(kr, "bytes");
      for (auto [key, field] : {std::pair<const char*, std::int64_t*>{"m", &kernel.gemm.m},
                                {"n", &kernel.gemm.n},
                                {"k", &kernel.gemm.k},
                                {"batch", &kernel.gemm.batch}}) {
        if (auto v = kr.integer(key, 0, std::numeric_limits<std::int64_t>::max()))
          *field = *v;
      }
      if (auto library = kr.enumeration("attention_library", attention_library_names))
        kernel.attention_library = *library;
      if (auto product = kr.boolean("attention_product"))
        kernel.attention_product = *product;
      kr.finish();
      cb.kernels.push_back(std::move(kernel));
    }
    block.finish();
    plan.add_block(std::move(cb));
  }
  const auto groups = top.sequence("groups");
  for (std::size_t g = 0; g < groups.size(); ++g) {
    MapReader gr(groups[g], "groups[" + std::to_string(g) + "]", diagnostics);
    Group group;
    group.name = gr.string("name").value_or("");
    for (const auto& rank : gr.sequence("ranks")) {
      if (auto r = list_item(rank, diagnostics, gr.path_of("ranks"), "a rank number"))
        group.ranks.push_back(*r);
    }
    if (gr.has("expert_dispatch"))
      group.expert_dispatch = read_expert_dispatch(gr);
    gr.finish();
    plan.add_group(std::move(group));
  }
  const auto ranks = top.sequence("ranks");
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    MapReader rr(ranks[r], "ranks[" + std::to_string(r) + "]", diagnostics);
    RankProgram program;
    program.rank = int_key(rr, "rank", 0).value_or(-1);
    if (!rr.has("device"))
      rr.error("device", "must be a device index, 0 or more");
    program.device = int_key(rr, "device", 0).value_or(-1);
    MapReader sm = rr.child("static_memory");
    program.static_memory.weights_bytes = quantity(sm, "weights_bytes");
    program.static_memory.gradients_bytes = quantity(sm, "gradients_bytes");
    program.static_memory.optimizer_bytes = quantity(sm, "optimizer_bytes");
    program.static_memory.communication_buffer_bytes = quantity(sm, "communication_buffer_bytes");
    sm.finish();
    const auto ops = rr.sequence("ops");
    for (std::size_t i = 0; i < ops.size(); ++i) {
      MapReader o(ops[i], rr.path_of("ops") + "[" + std::to_string(i) + "]", diagnostics);
      Op op;
      if (auto kind = o.enumeration("kind", op_kind_names))
        op.kind = *kind;
      if (auto stream = o.enumeration("stream", stream_names))
        op.stream = *stream;
      op.label = index_key(o, "label", plan.labels.size(), "label").value_or(0);
      if (op.kind == OpKind::compute) {
        op.block = index_key(o, "block", plan.blocks.size(), "block").value_or(0);
      }
      if (op.kind == OpKind::collective) {
        op.group = index_key(o, "group", plan.groups.size(), "group").value_or(0);
        if (auto c = o.enumeration("collective", collective_kind_names))
          op.collective = *c;
      }
      if (op.kind == OpKind::send || op.kind == OpKind::recv) {
        op.peer = int_key(o, "peer", 0).value_or(-1);
      }
      op.bytes = quantity(o, "bytes");
      op.activation_bytes =
          o.number("activation_bytes", NumberRange::closed(-max_plan_quantity, max_plan_quantity),
                   0.0)
              .value_or(0);
      op.microbatch = int_key(o, "microbatch", -1).value_or(-1);
      for (const auto& dep : o.sequence("deps")) {
        const auto d = list_item(dep, diagnostics, o.path_of("deps"), "an op index");
        if (d && static_cast<std::size_t>(*d) >= i) {
          diagnostics.error(dep, o.path_of("deps"),
                            fmt::format("op {} is not an earlier op of this rank (dependencies "
                                        "point backwards; a cycle cannot run)",
                                        *d));
        } else if (d) {
          op.deps.push_back(static_cast<std::uint32_t>(*d));
        }
      }
      o.finish();
      program.ops.push_back(std::move(op));
    }
    rr.finish();
    plan.ranks.push_back(std::move(program));
  }
  top.finish();
  diagnostics.throw_if_any();
  try {
    validate_plan(plan);
  } catch (const PlanError& e) {
    auto [where, key] = locate(root, e.place(), file_label);
    throw InputError({{std::move(where), std::move(key), e.what()}});
  }
  return plan;
}

// The first bytes of a file, to tell its format; empty when it cannot be read (the reader then
// says why).
std::string first_bytes(const std::filesystem::path& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return bytes;
}

}  // namespace

Plan parse_plan(std::string_view text, const std::string& file_label) {
  if (starts_as_compact_plan(text))
    return parse_plan_compact(text, file_label);
  return parse_plan_yaml(text, file_label);
}

PlanFileFormat plan_format_of_file(const std::filesystem::path& path) {
  return starts_as_compact_plan(first_bytes(path, compact_plan_magic.size()))
             ? PlanFileFormat::compact
             : PlanFileFormat::yaml;
}

Plan read_plan(const std::filesystem::path& path) {
  if (plan_format_of_file(path) == PlanFileFormat::yaml)
    return parse_plan_yaml(read_input_file(path), path.string());
  std::ifstream in(path, std::ios::binary);
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (!in || error) {
    throw InputError({{{path.string(), 0, 0},
                       "",
                       "cannot read the file: " +
                           (error ? error.message() : std::string("it cannot be opened"))}});
  }
  Plan plan = read_plan_compact(in, path.string(), size);
  if (in.bad())
    throw InputError({{{path.string(), 0, 0}, "", "cannot read the file: a read failed"}});
  return plan;
}

bool is_plan_file(const std::filesystem::path& path) {
  const std::string head = first_bytes(path, 4096);
  if (starts_as_compact_plan(head))
    return true;
  // A YAML plan says so in its first lines (after a comment).
  std::size_t line = 0;
  for (int i = 0; i < 20 && line < head.size(); ++i) {
    const std::size_t next = std::min(head.find('\n', line), head.size());
    const std::string_view text(head.data() + line, next - line);
    if (text.starts_with("format:"))
      return text.find("scaleplan-plan") != std::string_view::npos;
    line = next + 1;
  }
  return false;
}

}  // namespace scaleplan
