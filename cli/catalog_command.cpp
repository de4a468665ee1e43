#include "cli/catalog_command.hpp"

#include <iostream>
#include <memory>

#include "cli/output_file.hpp"
#include "hardware/io/device_text.hpp"

namespace scaleplan {

void add_catalog_options(CLI::App& command, CatalogChoice& choice) {
  command
      .add_option("--catalog", choice.file,
                  "Device catalog YAML that extends the built-in catalog (a device of the same "
                  "name replaces the built-in one)")
      ->type_name("FILE");
  command.add_flag("--replace-catalog", choice.replace,
                   "Use the --catalog file alone, in place of the built-in catalog");
}

Catalog load_catalog(const CatalogChoice& choice, std::ostream& notes) {
  if (choice.file.empty()) {
    if (choice.replace)
      throw InputError({{{"--replace-catalog", 0, 0}, "", "needs --catalog FILE"}});
    return Catalog::builtin();
  }
  if (choice.replace)
    return Catalog::load(choice.file);
  ExtendedCatalog extended = Catalog::builtin().extended_by_file(choice.file);
  for (const std::string& name : extended.replaced) {
    notes << "note: " << choice.file << ": device '" << name
          << "' replaces the built-in one (--replace-catalog uses the file alone)\n";
  }
  return std::move(extended.catalog);
}

namespace {

struct CatalogCommand {
  CLI::App* command = nullptr;
  CatalogChoice catalog;
  std::string device;
};

int run_catalog(const CatalogCommand& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  if (o.device.empty()) {
    // Names and sources come from a catalog file, which may hold terminal escapes.
    std::cout << printable_text(format_device_list(catalog))
              << "\nscaleplan catalog NAME shows every figure of a device and its source\n";
    check_standard_output();
    return 0;
  }
  const DeviceSpec* device = catalog.find(o.device);
  if (!device)
    throw InputError({{{"NAME", 0, 0}, "", unknown_device_message(catalog, o.device)}});
  std::cout << printable_text(format_device(*device, catalog.network_defaults()));
  check_standard_output();
  return 0;
}

}  // namespace

std::function<int()> add_catalog_command(CLI::App& app) {
  auto o = std::make_shared<CatalogCommand>();
  o->command = app.add_subcommand(
      "catalog", "List the devices of the catalog, or every figure of one with its source");
  o->command->add_option("name", o->device, "A device of the catalog (H100-SXM5-80GB, say)");
  add_catalog_options(*o->command, o->catalog);
  return [o]() { return run_catalog(*o); };
}

}  // namespace scaleplan
