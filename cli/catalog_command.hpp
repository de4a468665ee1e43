// The device catalog on the command line: `--catalog FILE` (extending the built-in catalog, or
// replacing it with --replace-catalog) for every command that reads one, and `scaleplan catalog
// [NAME]`.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

#include "hardware/io/catalog.hpp"

namespace scaleplan {

struct CatalogChoice {
  std::string file;      // empty: the built-in catalog alone
  bool replace = false;  // the file is the whole catalog instead of extending the built-in one
};

// Registers --catalog FILE and --replace-catalog on `command`.
void add_catalog_options(CLI::App& command, CatalogChoice& choice);

// The catalog chosen. Extending, each device of the file that replaces a built-in one of the same
// name is noted on `notes` ("note: FILE: device 'X' replaces the built-in one"). Throws
// InputError for a file that cannot be read.
Catalog load_catalog(const CatalogChoice& choice, std::ostream& notes);

// Registers `scaleplan catalog [NAME]`; the returned function runs it (after parsing, when the
// command was given) and returns the exit code.
std::function<int()> add_catalog_command(CLI::App& app);

}  // namespace scaleplan
