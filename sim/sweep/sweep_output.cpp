#include "sim/sweep/sweep_output.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hardware/input/yaml_reader.hpp"
#include "sim/sweep/sweep_csv.hpp"

namespace scaleplan::sweep {

namespace {

using Json = nlohmann::ordered_json;

std::string extension_of(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

InputError file_error(const std::filesystem::path& path, int line, std::string message) {
  return InputError({{{path.string(), line, 0}, "", std::move(message)}});
}

// The same value: numbers compare as numbers (an axis written 1e3 reads back as 1000).
bool same_cell(const Cell& a, const Cell& b) {
  const auto number = [](const Cell& c) -> std::optional<double> {
    if (const auto* i = std::get_if<std::int64_t>(&c))
      return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&c))
      return *d;
    return std::nullopt;
  };
  const auto x = number(a);
  const auto y = number(b);
  if (x && y)
    return *x == *y;
  return a == b;
}

std::string cell_text(const Cell& cell) {
  const std::string text = csv_field(cell);
  return text.empty() ? "nothing" : text;
}

// Checks a row read back from a file: its index is one of the sweep's, not seen before, and its
// axis values are those of that scenario. Returns the index.
std::size_t check_row(const std::filesystem::path& path, int line, const Sweep& sweep,
                      const Cell& index_cell, const std::vector<Cell>& axis_cells,
                      std::vector<bool>& done) {
  const auto* index = std::get_if<std::int64_t>(&index_cell);
  if (index == nullptr || *index < 0 || static_cast<std::uint64_t>(*index) >= sweep.size()) {
    throw file_error(path, line,
                     fmt::format("the row's index is {}, not one of the sweep's {} scenarios: the "
                                 "file is not this sweep's results; write to another file",
                                 cell_text(index_cell), sweep.size()));
  }
  const auto i = static_cast<std::size_t>(*index);
  if (done[i])
    throw file_error(path, line, fmt::format("scenario {} has a second row", i));
  const std::vector<std::string> values = sweep.values_of(i);
  for (std::size_t a = 0; a < values.size(); ++a) {
    if (!same_cell(axis_cell(values[a]), axis_cells[a])) {
      throw file_error(
          path, line,
          fmt::format("scenario {} has {} {} in the file but {} in {}: the file holds another "
                      "sweep's results (or the sweep file changed); write to another file",
                      i, sweep.axes[a].key, cell_text(axis_cells[a]), values[a], sweep.file));
    }
  }
  done[i] = true;
  return i;
}

// Lines of a text file that hold one row each, for CSV and JSON lines.
class LineStore : public ResultStore {
 public:
  LineStore(std::filesystem::path path, const Sweep& sweep, bool header)
      : path_(std::move(path)), sweep_(sweep), columns_(result_columns(sweep)), header_(header) {
    done_.assign(sweep.size(), false);
  }
  ~LineStore() override {
    if (file_ != nullptr)
      std::fclose(file_);
  }

  void write(const SweepRow& row) override {
    append(line_of(result_cells(row)) + "\n");
    ++rows_;
    done_[row.index] = true;
  }

 protected:
  // Reads what a resumed file holds and opens it for appending; called by the formats'
  // constructors, once their virtual functions exist.
  void open(bool resume) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path_, ec);
    if (exists && !resume) {
      throw file_error(path_, 0,
                       "the results file exists; pass --resume to continue the sweep it holds, or "
                       "remove it");
    }
    bool write_header = header_;
    if (exists) {
      const std::string text = read_results_file(path_);
      // A last line without its line break was cut short by a kill: it is dropped, and its
      // scenario runs again.
      const std::size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
      std::size_t start = 0;
      int line = 0;
      while (start < complete) {
        const std::size_t end = text.find('\n', start);
        ++line;
        const std::string_view content(text.data() + start, end - start);
        if (line == 1 && header_) {
          if (content != header_line())
            throw file_error(path_, 1,
                             "the columns are not this sweep's: the file holds another sweep's "
                             "results; write to another file");
          write_header = false;
        } else {
          read_row(content, line);
          ++rows_;
        }
        start = end + 1;
      }
      if (complete < text.size())
        std::filesystem::resize_file(path_, complete);
    }
    file_ = std::fopen(path_.string().c_str(), "ab");
    if (file_ == nullptr)
      throw file_error(path_, 0, fmt::format("cannot open: {}", std::strerror(errno)));
    if (write_header)
      append(header_line() + "\n");
  }

 public:
  void complete() override {
    std::fclose(file_);
    file_ = nullptr;
    const std::string text = read_results_file(path_);
    std::vector<std::pair<std::size_t, std::string_view>> lines;
    std::string head;
    std::size_t start = 0;
    int line = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      const std::string_view content(text.data() + start, end - start);
      if (++line == 1 && header_)
        head = std::string(content) + "\n";
      else
        lines.emplace_back(index_of(content), content);
      start = end + 1;
    }
    std::stable_sort(lines.begin(), lines.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string sorted = head;
    for (const auto& [index, content] : lines)
      (sorted += content) += '\n';
    const std::filesystem::path temporary = path_.string() + ".sorting";
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << sorted;
      out.flush();
      if (!out)
        throw std::runtime_error(fmt::format("cannot write {}", temporary.string()));
    }
    std::filesystem::rename(temporary, path_);
  }

 protected:
  virtual std::string header_line() const = 0;
  virtual std::string line_of(const std::vector<Cell>& cells) const = 0;
  virtual void read_row(std::string_view content, int line) = 0;
  virtual std::size_t index_of(std::string_view content) const = 0;

  void append(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0)
      throw std::runtime_error(
          fmt::format("cannot write {}: {}", path_.string(), std::strerror(errno)));
  }

  std::filesystem::path path_;
  const Sweep& sweep_;
  std::vector<Column> columns_;
  bool header_;
  std::FILE* file_ = nullptr;
};

class CsvStore final : public LineStore {
 public:
  CsvStore(std::filesystem::path path, const Sweep& sweep, bool resume)
      : LineStore(std::move(path), sweep, true) {
    open(resume);
  }

 private:
  std::string header_line() const override {
    std::vector<Cell> names;
    for (const Column& c : columns_)
      names.emplace_back(c.name);
    return line_of(names);
  }
  std::string line_of(const std::vector<Cell>& cells) const override {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0)
        line += ',';
      line += csv_field(cells[i]);
    }
    return line;
  }
  void read_row(std::string_view content, int line) override {
    const auto fields = csv_fields(content);
    if (!fields || fields->size() != columns_.size()) {
      throw file_error(path_, line,
                       fmt::format("expected a row of {} fields; the file is damaged or not a "
                                   "sweep's results",
                                   columns_.size()));
    }
    std::vector<Cell> axes;
    for (std::size_t a = 0; a < sweep_.axes.size(); ++a)
      axes.push_back(axis_cell((*fields)[3 + a]));
    check_row(path_, line, sweep_, axis_cell(fields->front()), axes, done_);
  }
  std::size_t index_of(std::string_view content) const override {
    return std::stoull(std::string(content.substr(0, content.find(','))));
  }
};

class JsonLinesStore final : public LineStore {
 public:
  JsonLinesStore(std::filesystem::path path, const Sweep& sweep, bool resume)
      : LineStore(std::move(path), sweep, false) {
    open(resume);
  }

 private:
  std::string header_line() const override { return {}; }
  std::string line_of(const std::vector<Cell>& cells) const override {
    Json row = Json::object();
    for (std::size_t i = 0; i < cells.size(); ++i)
      row[columns_[i].name] = json_value(cells[i]);
    return row.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  void read_row(std::string_view content, int line) override {
    Json row;
    try {
      row = Json::parse(content);
    } catch (const Json::exception&) {
      throw file_error(path_, line,
                       "not a JSON object; the file is damaged or not a sweep's "
                       "results");
    }
    bool same = row.is_object() && row.size() == columns_.size();
    for (const Column& c : columns_)
      same = same && row.contains(c.name);
    if (!same) {
      throw file_error(path_, line,
                       "the row's keys are not this sweep's columns: the file holds another "
                       "sweep's results; write to another file");
    }
    std::vector<Cell> axes;
    for (const Axis& axis : sweep_.axes)
      axes.push_back(cell_of_json(row[axis.key]));
    check_row(path_, line, sweep_, cell_of_json(row["index"]), axes, done_);
  }
  std::size_t index_of(std::string_view content) const override {
    return Json::parse(content)["index"].get<std::size_t>();
  }
};

std::string quoted_name(const std::string& name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"')
      quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

class SqliteStore final : public ResultStore {
 public:
  SqliteStore(std::filesystem::path path, const Sweep& sweep, bool resume)
      : path_(std::move(path)), sweep_(sweep), columns_(result_columns(sweep)) {
    done_.assign(sweep.size(), false);
    std::error_code ec;
    if (std::filesystem::exists(path_, ec) && !resume) {
      throw file_error(path_, 0,
                       "the results database exists; pass --resume to continue the sweep it "
                       "holds, or remove it");
    }
    sqlite3* opened = nullptr;
    const int status = sqlite3_open_v2(path_.string().c_str(), &opened,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    // Owned from here on: a throw later in this constructor still closes it.
    db_.reset(opened);
    if (status != SQLITE_OK) {
      throw file_error(
          path_, 0,
          "cannot open the database: " +
              std::string(opened != nullptr ? sqlite3_errmsg(opened) : "out of memory"));
    }
    sqlite3_busy_timeout(db_.get(), 10'000);
    // WAL: each row is committed without rewriting the database, and a killed writer leaves
    // every committed row behind.
    execute("PRAGMA journal_mode=WAL");
    execute("PRAGMA synchronous=NORMAL");
    std::vector<std::string> existing;
    {
      Statement info(db_.get(), "PRAGMA table_info(results)");
      while (info.step())
        existing.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1)));
    }
    if (existing.empty()) {
      std::string create = "CREATE TABLE results (";
      for (std::size_t i = 0; i < columns_.size(); ++i) {
        // No declared type (value): no conversion, a number stays a number and text text.
        static constexpr const char* types[] = {" INTEGER", " REAL", " TEXT", " INTEGER", ""};
        create += (i > 0 ? ", " : "") + quoted_name(columns_[i].name) +
                  types[static_cast<int>(columns_[i].type)];
        if (i == 0)
          create += " PRIMARY KEY";
      }
      execute(create + ")");
    } else {
      std::vector<std::string> expected;
      for (const Column& c : columns_)
        expected.push_back(c.name);
      if (existing != expected) {
        throw file_error(path_, 0,
                         "the results table's columns are not this sweep's: the database holds "
                         "another sweep's results; write to another file");
      }
      std::string select = "SELECT \"index\"";
      for (const Axis& axis : sweep_.axes)
        select += ", " + quoted_name(axis.key);
      Statement rows(db_.get(), select + " FROM results ORDER BY \"index\"");
      while (rows.step()) {
        std::vector<Cell> axes;
        for (std::size_t a = 0; a < sweep_.axes.size(); ++a)
          axes.push_back(column_cell(rows.get(), static_cast<int>(a + 1)));
        check_row(path_, static_cast<int>(rows_ + 1), sweep_, column_cell(rows.get(), 0), axes,
                  done_);
        ++rows_;
      }
    }
    std::string insert = "INSERT INTO results VALUES (";
    for (std::size_t i = 0; i < columns_.size(); ++i)
      insert += i > 0 ? ", ?" : "?";
    insert_ = std::make_unique<Statement>(db_.get(), insert + ")");
  }
  void write(const SweepRow& row) override {
    sqlite3_stmt* s = insert_->get();
    sqlite3_reset(s);
    const std::vector<Cell> cells = result_cells(row);
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      const Cell& cell = cells[i];
      if (const auto* n = std::get_if<std::int64_t>(&cell))
        sqlite3_bind_int64(s, at, *n);
      else if (const auto* d = std::get_if<double>(&cell))
        sqlite3_bind_double(s, at, *d);
      else if (const auto* b = std::get_if<bool>(&cell))
        sqlite3_bind_int(s, at, *b ? 1 : 0);
      else if (const auto* t = std::get_if<std::string>(&cell))
        sqlite3_bind_text(s, at, t->c_str(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      else
        sqlite3_bind_null(s, at);
    }
    if (sqlite3_step(s) != SQLITE_DONE)
      throw std::runtime_error(
          fmt::format("cannot write {}: {}", path_.string(), sqlite3_errmsg(db_.get())));
    ++rows_;
    done_[row.index] = true;
  }

  void complete() override { execute("PRAGMA wal_checkpoint(TRUNCATE)"); }

 private:
  class Statement {
   public:
    Statement(sqlite3* db, const std::string& sql) : db_(db) {
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK)
        throw std::runtime_error(fmt::format("SQLite: {}: {}", sql, sqlite3_errmsg(db)));
    }
    ~Statement() { sqlite3_finalize(statement_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    bool step() {
      const int status = sqlite3_step(statement_);
      if (status != SQLITE_ROW && status != SQLITE_DONE)
        throw std::runtime_error(fmt::format("SQLite: {}", sqlite3_errmsg(db_)));
      return status == SQLITE_ROW;
    }
    sqlite3_stmt* get() { return statement_; }

   private:
    sqlite3* db_;
    sqlite3_stmt* statement_ = nullptr;
  };

  static Cell column_cell(sqlite3_stmt* s, int column) {
    switch (sqlite3_column_type(s, column)) {
      case SQLITE_INTEGER:
        return static_cast<std::int64_t>(sqlite3_column_int64(s, column));
      case SQLITE_FLOAT:
        return sqlite3_column_double(s, column);
      case SQLITE_TEXT:
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, column)));
      default:
        return std::monostate{};
    }
  }

  void execute(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(fmt::format("{}: {}: {}", path_.string(), sql, message));
    }
  }

  std::filesystem::path path_;
  const Sweep& sweep_;
  std::vector<Column> columns_;
  struct CloseDatabase {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  // Declared before insert_, so the statement is finalised before the database closes.
  std::unique_ptr<sqlite3, CloseDatabase> db_;
  std::unique_ptr<Statement> insert_;
};

}  // namespace

std::string csv_field(const Cell& cell) {
  if (std::holds_alternative<std::monostate>(cell))
    return "";
  if (const auto* i = std::get_if<std::int64_t>(&cell))
    return fmt::format("{}", *i);
  if (const auto* d = std::get_if<double>(&cell))
    return fmt::format("{}", *d);
  if (const auto* b = std::get_if<bool>(&cell))
    return *b ? "true" : "false";
  const std::string& text = std::get<std::string>(cell);
  if (text.find_first_of(",\"\n\r") == std::string::npos && !text.empty())
    return text;
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"')
      quoted += '"';
    quoted += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return quoted + "\"";
}

std::optional<std::vector<std::string>> csv_fields(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size())
          return std::nullopt;  // an unclosed quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',')
        return std::nullopt;
    } else {
      while (i < line.size() && line[i] != ',')
        field += line[i++];
    }
    fields.push_back(field);
    if (i >= line.size())
      return fields;
    ++i;  // the comma
  }
}

Json json_value(const Cell& cell) {
  if (std::holds_alternative<std::monostate>(cell))
    return nullptr;
  if (const auto* i = std::get_if<std::int64_t>(&cell))
    return *i;
  if (const auto* d = std::get_if<double>(&cell))
    return *d;
  if (const auto* b = std::get_if<bool>(&cell))
    return *b;
  return std::get<std::string>(cell);
}

Cell cell_of_json(const Json& value) {
  if (value.is_number_integer())
    return value.get<std::int64_t>();
  if (value.is_number())
    return value.get<double>();
  if (value.is_boolean())
    return value.get<bool>();
  if (value.is_string())
    return value.get<std::string>();
  return std::monostate{};
}

std::string read_results_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw file_error(path, 0, fmt::format("cannot read: {}", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    throw file_error(path, 0, "cannot read the file to its end");
  return text.str();
}

std::optional<ResultFormat> result_format_of(const std::filesystem::path& path) {
  const std::string ext = extension_of(path);
  if (ext == ".csv")
    return ResultFormat::csv;
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json")
    return ResultFormat::json_lines;
  if (ext == ".sqlite" || ext == ".sqlite3" || ext == ".db")
    return ResultFormat::sqlite;
  return std::nullopt;
}

std::vector<Column> result_columns(const Sweep& sweep) {
  std::vector<Column> columns{
      {"index", ColumnType::integer}, {"status", ColumnType::text}, {"error", ColumnType::text}};
  for (const Axis& axis : sweep.axes)
    columns.push_back({axis.key, ColumnType::value});
  for (const char* name : {"device"})
    columns.push_back({name, ColumnType::text});
  for (const char* name : {"devices", "dp", "microbatches"})
    columns.push_back({name, ColumnType::integer});
  for (const char* name : {"step_time_s", "tokens_per_s", "model_tflops_per_device", "mfu",
                           "peak_memory_bytes", "memory_capacity_bytes"})
    columns.push_back({name, ColumnType::real});
  columns.push_back({"fits", ColumnType::boolean});
  for (const char* name : {"compute_s", "exposed_comm_s", "bubble_s", "power_w",
                           "energy_per_step_j", "usd_per_hour", "usd_per_step"})
    columns.push_back({name, ColumnType::real});
  return columns;
}

Cell axis_cell(const std::string& value) {
  std::string problem;
  if (auto i = decimal_integer(value, problem))
    return *i;
  if (auto d = decimal_number(value, problem))
    return *d;
  return value;
}

std::vector<Cell> result_cells(const SweepRow& row) {
  std::vector<Cell> cells{static_cast<std::int64_t>(row.index),
                          std::string(row.ok() ? "ok" : "failed"),
                          row.error ? Cell(*row.error) : Cell(std::monostate{})};
  for (const std::string& value : row.values)
    cells.push_back(axis_cell(value));
  const auto optional = [](const std::optional<double>& v) {
    return v ? Cell(*v) : Cell(std::monostate{});
  };
  if (!row.ok()) {
    cells.resize(cells.size() + 18, std::monostate{});
    return cells;
  }
  cells.emplace_back(row.device);
  cells.emplace_back(static_cast<std::int64_t>(row.devices));
  cells.emplace_back(static_cast<std::int64_t>(row.dp));
  cells.emplace_back(static_cast<std::int64_t>(row.microbatches));
  for (const double v : {row.step_time_s, row.tokens_per_s, row.model_tflops_per_device, row.mfu,
                         row.peak_memory_bytes, row.memory_capacity_bytes})
    cells.emplace_back(v);
  cells.emplace_back(row.fits);
  for (const double v : {row.compute_s, row.exposed_comm_s, row.bubble_s})
    cells.emplace_back(v);
  for (const auto& v : {row.power_w, row.energy_per_step_j, row.usd_per_hour, row.usd_per_step})
    cells.push_back(optional(v));
  return cells;
}

std::unique_ptr<ResultStore> open_results(const std::filesystem::path& path, const Sweep& sweep,
                                          bool resume) {
  const auto format = result_format_of(path);
  if (!format) {
    throw file_error(path, 0,
                     "the extension does not say the format; use .csv, .jsonl (JSON lines) or "
                     ".sqlite");
  }
  switch (*format) {
    case ResultFormat::csv:
      return std::make_unique<CsvStore>(path, sweep, resume);
    case ResultFormat::json_lines:
      return std::make_unique<JsonLinesStore>(path, sweep, resume);
    case ResultFormat::sqlite:
      return std::make_unique<SqliteStore>(path, sweep, resume);
  }
  return nullptr;
}

}  // namespace scaleplan::sweep
