#include "calibrate/nccl_tests_import.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "calibrate/text_scan.hpp"
#include "hardware/input/checked_math.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/profile_io.hpp"

namespace scaleplan {

std::optional<CollectiveOp> nccl_tests_collective(std::string_view binary) {
  static const std::map<std::string, CollectiveOp, std::less<>> names{
      {"all_reduce", CollectiveOp::all_reduce},         {"all_gather", CollectiveOp::all_gather},
      {"reduce_scatter", CollectiveOp::reduce_scatter}, {"alltoall", CollectiveOp::all_to_all},
      {"broadcast", CollectiveOp::broadcast},           {"sendrecv", CollectiveOp::send_recv}};
  auto it = names.find(binary);
  if (it == names.end())
    return std::nullopt;
  return it->second;
}

namespace {

std::vector<std::string> split_words(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> words;
  std::string word;
  while (in >> word)
    words.push_back(word);
  return words;
}

std::optional<double> parse_double(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v))
      return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used != text.size())
      return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// nccl-tests' size arguments: a number with an optional K, M or G suffix (powers of 1024).
std::optional<double> parse_size(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  double scale = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'K':
    case 'k':
      scale = 1024;
      break;
    case 'M':
    case 'm':
      scale = 1024.0 * 1024;
      break;
    case 'G':
    case 'g':
      scale = 1024.0 * 1024 * 1024;
      break;
    default:
      break;
  }
  if (scale != 1)
    digits.pop_back();
  auto v = parse_integer(digits);
  if (!v)
    return std::nullopt;
  return static_cast<double>(*v) * scale;
}

struct Device {
  std::string host;
  std::string name;
};

// "#  Rank  0 Group  0 Pid   6899 on host device  0 [0000:04:00] NVIDIA H100 80GB HBM3"; older
// versions have no Group column.
std::optional<Device> parse_device_line(std::string_view line) {
  const std::vector<std::string> w = split_words(line);
  Device d;
  bool have_rank = false, have_host = false;
  for (std::size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] == "Rank") {
      have_rank = have_rank || parse_integer(w[i + 1]).has_value();
    } else if (w[i] == "on") {
      d.host = w[i + 1];
      have_host = true;
    }
  }
  const std::size_t bracket = line.find(']');
  if (bracket != std::string_view::npos) {
    std::string name(line.substr(bracket + 1));
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(" \r") + 1);
    d.name = name;
  }
  if (!have_rank || !have_host)
    return std::nullopt;
  return d;
}

struct Row {
  int line = 0;
  double size_bytes = 0;
  std::int64_t count = 0;
  std::string type;
  std::string redop;
  int root = -1;
  double time_us[2] = {0, 0};
  double algbw_gb_per_s[2] = {0, 0};
  double busbw_gb_per_s[2] = {0, 0};
  std::int64_t wrong[2] = {0, 0};  // -1: not checked (N/A)
};

constexpr const char* columns_with_root =
    "size count type redop root time algbw busbw #wrong time algbw busbw #wrong";
constexpr const char* columns_without_root =
    "size count type redop time algbw busbw #wrong time algbw busbw #wrong";

class Importer {
 public:
  Importer(std::string file, const NcclTestsImportOptions& options)
      : file_(std::move(file)), options_(options), diagnostics_(file_) {}

  NcclTestsImport run(std::string_view text) {
    check_options();
    std::istringstream in{std::string(text)};
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      scan(line, number);
    }
    diagnostics_.throw_if_any();
    return finish(number);
  }

 private:
  // What the measurements reader (and so calibrate fit) would refuse, refused before reading.
  void check_options() {
    const int ranks = options_.ranks.value_or(max_collective_ranks);
    const int nodes = options_.nodes.value_or(1);
    if (ranks < 2 || ranks > max_collective_ranks)
      error(0, fmt::format("--ranks {} is not from 2 to {}", ranks, max_collective_ranks));
    if (nodes < 1 || nodes > ranks) {
      error(0, fmt::format("--nodes {} is not from 1 to the ranks ({}): every node runs at least "
                           "one rank",
                           nodes, ranks));
    }
    diagnostics_.throw_if_any();
  }

  void error(int line, std::string message) {
    diagnostics_.error(SourceLocation{file_, line, 0}, "", std::move(message));
  }

  void scan(const std::string& line, int number) {
    const std::optional<std::string> binary = nccl_tests_binary_in(line);
    if (binary)
      binaries_.try_emplace(*binary, number);
    capture_command_line(line, number, binary.has_value());
    if (nccl_version_.empty())
      nccl_version_ = nccl_version_in(line).value_or("");
    const std::size_t first = line.find_first_not_of(" \t>");
    if (first == std::string::npos)
      return;
    if (line[first] == '#') {
      scan_comment(line, number);
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(line[first])))
      parse_row(line, number);
  }

  // The command line is the first uncommented line that runs a binary or an MPI launcher, with
  // its backslash continuations.
  void capture_command_line(const std::string& line, int number, bool names_binary) {
    const bool comment = line.find_first_not_of(" \t") != std::string::npos &&
                         line[line.find_first_not_of(" \t")] == '#';
    if (command_state_ == CommandState::before && !comment &&
        (names_binary || names_mpi_launcher(line))) {
      command_state_ = CommandState::reading;
      command_line_number_ = number;
    }
    if (command_state_ != CommandState::reading)
      return;
    command_line_ += line + " ";
    const std::size_t last = line.find_last_not_of(" \t");
    if (last == std::string::npos || line[last] != '\\')
      command_state_ = CommandState::done;
  }

  void scan_comment(const std::string& line, int number) {
    const std::vector<std::string> w = split_words(line);
    if (line.find("Using devices") != std::string::npos) {
      in_devices_ = true;
      return;
    }
    if (in_devices_) {
      if (auto d = parse_device_line(line)) {
        devices_.push_back(*d);
        return;
      }
      in_devices_ = false;
    }
    if (w.size() > 2 && w[1] == "nThread") {
      for (std::size_t i = 1; i + 1 < w.size(); ++i) {
        if (w[i] == "nThread") {
          header_threads_ = parse_integer(w[i + 1]);
          header_counts_line_ = number;
        }
        if (w[i] == "nGpus")
          header_gpus_ = parse_integer(w[i + 1]);
        if (w[i] == "maxBytes")
          max_bytes_ = parse_size(w[i + 1]);
      }
    }
    const bool is_header = std::find(w.begin(), w.end(), "size") != w.end() &&
                           std::find(w.begin(), w.end(), "count") != w.end();
    if (is_header) {
      with_root_ = std::find(w.begin(), w.end(), "root") != w.end();
      header_line_ = number;
    }
    if (line.find("Avg bus bandwidth") != std::string::npos)
      saw_trailer_ = true;
  }

  void parse_row(const std::string& line, int number) {
    const std::vector<std::string> w = split_words(line);
    const std::size_t expected = with_root_ ? 13 : 12;
    const char* layout = with_root_ ? columns_with_root : columns_without_root;
    if (w.size() != expected) {
      std::string message = "expected a result row of " + std::to_string(expected) + " columns (" +
                            layout + "), got " + std::to_string(w.size());
      if (w.size() == expected - 4)
        message += ": the in-place half is missing (truncated output?)";
      error(number, message);
      return;
    }
    Row row;
    row.line = number;
    std::size_t i = 0;
    bool ok = true;
    auto integer_at = [&](const char* what) -> std::int64_t {
      auto v = parse_integer(w[i]);
      if (!v) {
        error(number, std::string("column ") + std::to_string(i + 1) + " (" + what +
                          "): expected an integer, got '" + w[i] + "'");
        ok = false;
      }
      ++i;
      return v.value_or(0);
    };
    auto number_at = [&](const char* what) -> double {
      auto v = parse_double(w[i]);
      if (!v || *v < 0) {
        error(number, std::string("column ") + std::to_string(i + 1) + " (" + what +
                          "): expected a non-negative number, got '" + w[i] + "'");
        ok = false;
      }
      ++i;
      return v.value_or(0);
    };
    auto wrong_at = [&]() -> std::int64_t {
      if (w[i] == "N/A") {
        ++i;
        return -1;
      }
      return integer_at("#wrong");
    };
    row.size_bytes = static_cast<double>(integer_at("size"));
    row.count = integer_at("count");
    row.type = w[i++];
    row.redop = w[i++];
    if (with_root_) {
      // -1 where the collective has no root.
      const std::int64_t root = integer_at("root");
      if (auto rank = narrow_to_int(root, -1, max_collective_ranks - 1)) {
        row.root = *rank;
      } else if (ok) {
        error(number, fmt::format("column 5 (root): {} is not a rank (-1 to {})", root,
                                  max_collective_ranks - 1));
        ok = false;
      }
    }
    for (int half = 0; half < 2; ++half) {
      row.time_us[half] = number_at("time");
      row.algbw_gb_per_s[half] = number_at("algbw");
      row.busbw_gb_per_s[half] = number_at("busbw");
      row.wrong[half] = wrong_at();
      if (ok && !(row.time_us[half] > 0)) {
        error(number, "time must be greater than zero");
        ok = false;
      }
    }
    if (ok && row.size_bytes <= 0) {
      error(number, "size must be greater than zero");
      ok = false;
    }
    if (ok && row.count <= 0) {
      error(number, "count must be greater than zero");
      ok = false;
    }
    if (ok)
      rows_.push_back(row);
  }

  // The collective: the caller's, else the one binary named in the output.
  CollectiveOp collective() {
    if (options_.collective)
      return *options_.collective;
    if (binaries_.empty()) {
      error(0,
            "cannot tell which collective this is: no nccl-tests binary name (all_reduce_perf, "
            "...) in the output; pass --collective");
      diagnostics_.throw_if_any();
    }
    if (binaries_.size() > 1) {
      std::string names;
      for (const auto& [name, line] : binaries_)
        names += (names.empty() ? "" : ", ") + name + "_perf (line " + std::to_string(line) + ")";
      error(0, "the output names several nccl-tests binaries (" + names +
                   "); pass --collective to say which one produced the table");
      diagnostics_.throw_if_any();
    }
    const auto& [name, line] = *binaries_.begin();
    auto op = nccl_tests_collective(name);
    if (!op) {
      error(line, name +
                      "_perf measures a collective scaleplan does not model; supported: "
                      "all_reduce_perf, all_gather_perf, reduce_scatter_perf, alltoall_perf, "
                      "broadcast_perf, sendrecv_perf");
      diagnostics_.throw_if_any();
    }
    return *op;
  }

  // The single-process rank count (-g/--ngpus times -t/--nthreads, or the header's nThread and
  // nGpus), unless an MPI launcher multiplies it; and -e/--maxbytes when the header lacks it.
  std::optional<int> read_command_line() {
    const std::vector<std::string> w = split_words(command_line_);
    bool mpi_launch = false;
    std::int64_t gpus = 1, threads = 1;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (w[i] == "mpirun" || w[i] == "mpiexec" || w[i] == "srun")
        mpi_launch = true;
      if (i + 1 == w.size())
        continue;
      if (w[i] == "-g" || w[i] == "--ngpus")
        gpus = parse_integer(w[i + 1]).value_or(1);
      if (w[i] == "-t" || w[i] == "--nthreads")
        threads = parse_integer(w[i + 1]).value_or(1);
      if ((w[i] == "-e" || w[i] == "--maxbytes") && !max_bytes_)
        max_bytes_ = parse_size(w[i + 1]);
    }
    if (mpi_launch)
      return std::nullopt;
    if (header_gpus_ && header_threads_)
      return rank_count(*header_gpus_, *header_threads_, header_counts_line_, "nGpus × nThread");
    return rank_count(gpus, threads, command_line_number_, "-g × -t");
  }

  // gpus · threads ranks, each at least 1 and the product at most max_collective_ranks: a
  // 64-bit product is checked, never wrapped or narrowed (2^32 + 8 is not 8).
  int rank_count(std::int64_t gpus, std::int64_t threads, int line, const char* what) {
    const std::optional<std::int64_t> ranks = checked_product({gpus, threads});
    if (gpus < 1 || threads < 1 || !ranks || *ranks > max_collective_ranks) {
      error(line, fmt::format("{} = {} × {} is not a rank count from 1 to {}", what, gpus, threads,
                              max_collective_ranks));
      diagnostics_.throw_if_any();
    }
    return static_cast<int>(*ranks);
  }

  NcclTestsImport finish(int lines) {
    NcclTestsImport result;
    const CollectiveOp op = collective();
    if (rows_.empty()) {
      error(header_line_ > 0 ? header_line_ : lines, "no result rows: expected lines of " +
                                                         std::string(columns_with_root) +
                                                         " after the '#  size  count ...' header");
      diagnostics_.throw_if_any();
    }
    const std::optional<int> single_process_ranks = read_command_line();
    int ranks = 0, nodes = 0;
    std::set<std::string> hosts, names;
    for (const Device& d : devices_) {
      hosts.insert(d.host);
      if (!d.name.empty())
        names.insert(d.name);
    }
    if (!devices_.empty()) {
      if (devices_.size() > static_cast<std::size_t>(max_collective_ranks)) {
        error(0, fmt::format("{} '# Using devices' lines; a collective spans at most {} ranks",
                             devices_.size(), max_collective_ranks));
        diagnostics_.throw_if_any();
      }
      ranks = static_cast<int>(devices_.size());
      nodes = static_cast<int>(hosts.size());
    } else if (options_.ranks) {
      ranks = *options_.ranks;
      nodes = options_.nodes.value_or(1);
    } else if (single_process_ranks) {
      ranks = *single_process_ranks;
      nodes = 1;
      result.warnings.push_back(file_ + ": no '# Using devices' lines; took " +
                                std::to_string(ranks) +
                                " ranks on one node from the single-process command line");
    } else {
      error(0,
            "cannot tell the number of ranks: no '# Using devices' lines and the command line "
            "is an MPI launch; pass --ranks (and --nodes)");
      diagnostics_.throw_if_any();
    }
    if (ranks < 2) {
      error(0, "a collective needs at least 2 ranks, the output has " + std::to_string(ranks));
      diagnostics_.throw_if_any();
    }
    check_rows(op, ranks);
    diagnostics_.throw_if_any();

    MeasurementRun& run = result.run;
    const std::string binary = binaries_.empty() ? "" : binaries_.begin()->first + "_perf";
    run.source = "nccl-tests output " + file_ + (binary.empty() ? "" : " (" + binary + ")");
    run.environment.tool = binary.empty() ? "nccl-tests" : "nccl-tests " + binary;
    run.environment.backend = "nccl-tests";
    for (const auto& n : names)
      run.environment.device += (run.environment.device.empty() ? "" : "; ") + n;
    run.environment.nccl = nccl_version_;
    run.environment.hosts.assign(hosts.begin(), hosts.end());
    for (const Row& row : rows_) {
      for (int half = 0; half < 2; ++half) {
        CollectiveMeasurement m;
        m.op = op;
        m.algorithm = options_.algorithm;
        m.ranks = ranks;
        m.nodes = nodes;
        m.bytes = row.size_bytes;
        m.count = row.count;
        m.type = row.type;
        m.redop = row.redop;
        m.root = row.root;
        m.in_place = half == 1;
        m.time_s = row.time_us[half] * 1e-6;
        m.algbw_bytes_per_s = row.algbw_gb_per_s[half] * 1e9;
        m.busbw_bytes_per_s = row.busbw_gb_per_s[half] * 1e9;
        run.collectives.push_back(m);
        if (row.wrong[half] > 0) {
          result.warnings.push_back(file_ + ":" + std::to_string(row.line) + ": " +
                                    std::to_string(row.wrong[half]) +
                                    " wrong elements: nccl-tests' check of the result failed");
        }
      }
    }
    if (!saw_trailer_) {
      result.warnings.push_back(file_ +
                                ": no '# Avg bus bandwidth' line at the end: the output may "
                                "be truncated; imported the " +
                                std::to_string(rows_.size()) + " complete rows");
    }
    const double largest = rows_.back().size_bytes;
    if (max_bytes_ && largest < *max_bytes_) {
      result.warnings.push_back(file_ + ": rows end at " + yaml_number(largest) +
                                " bytes but the run was asked to go to " +
                                yaml_number(*max_bytes_) + " bytes");
    }
    return result;
  }

  // algbw must be size/time and busbw/algbw the collective's factor for `ranks`: a table from
  // another collective, another rank count or a garbled column fails here.
  void check_rows(CollectiveOp op, int ranks) {
    const double factor = bus_bandwidth_factor(op, ranks);
    for (const Row& row : rows_) {
      for (int half = 0; half < 2; ++half) {
        const char* which = half == 0 ? "out-of-place" : "in-place";
        const double algbw = row.algbw_gb_per_s[half];
        const double expected = row.size_bytes / (row.time_us[half] * 1e-6) / 1e9;
        // Printed with two decimals, time with about four significant digits.
        if (std::abs(algbw - expected) > 0.006 + 0.01 * expected) {
          error(row.line, std::string(which) + " algbw " + yaml_number(algbw) +
                              " GB/s is not size/time = " + yaml_number(expected) + " GB/s");
          continue;
        }
        const double busbw = row.busbw_gb_per_s[half];
        if (algbw >= 1 && std::abs(busbw / algbw - factor) > 0.02 * factor + 0.01 / algbw) {
          error(row.line, std::string(which) + " busbw/algbw = " + yaml_number(busbw / algbw) +
                              ", but " + std::string(to_string(op)) + " on " +
                              std::to_string(ranks) + " ranks has a bus-bandwidth factor of " +
                              yaml_number(factor) +
                              "; is this another collective or rank count? (--collective, "
                              "--ranks)");
        }
      }
    }
  }

  std::string file_;
  NcclTestsImportOptions options_;
  Diagnostics diagnostics_;
  std::map<std::string, int> binaries_;  // name -> first line
  enum class CommandState { before, reading, done };
  CommandState command_state_ = CommandState::before;
  std::string command_line_;
  std::string nccl_version_;
  bool in_devices_ = false;
  std::vector<Device> devices_;
  int command_line_number_ = 0;
  std::optional<std::int64_t> header_threads_, header_gpus_;
  int header_counts_line_ = 0;
  std::optional<double> max_bytes_;
  bool with_root_ = true;
  int header_line_ = 0;
  bool saw_trailer_ = false;
  std::vector<Row> rows_;
};

}  // namespace

NcclTestsImport import_nccl_tests(std::string_view text, const std::string& file_label,
                                  const NcclTestsImportOptions& options) {
  // Host names and device names go into measurements files, which are YAML and must be UTF-8.
  check_utf8(text, file_label);
  return Importer(file_label, options).run(text);
}

NcclTestsImport import_nccl_tests_file(const std::filesystem::path& path,
                                       const NcclTestsImportOptions& options) {
  return import_nccl_tests(read_input_file(path), path.string(), options);
}

}  // namespace scaleplan
