// The device catalog: real devices with a source for every figure. The built-in catalog
// (hardware/catalog.yaml) is compiled into the library; users may load their own.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hardware/device_spec.hpp"
#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

struct NetworkDefaults {
  Figure switch_latency_s;
  Figure nic_latency_s;
  // Fraction of a NIC's line rate collectives achieve. Absent: the nominal bandwidth.
  std::optional<Figure> nic_bandwidth_efficiency;
  // Per direction, over all links between two sockets (optional in a user's catalog).
  std::optional<Figure> cross_socket_bandwidth_bytes_per_s;
};

// A catalog extended by a user's file, and the devices of the file that replaced one of the same
// name.
struct ExtendedCatalog;

class Catalog {
 public:
  // Parses catalog YAML; throws InputError naming file, line and key. `file_label` names the
  // text in errors.
  static Catalog parse(std::string_view yaml_text, const std::string& file_label);
  static Catalog load(const std::filesystem::path& path);
  static const Catalog& builtin();

  // This catalog with a user's file added to it: the file's devices come after this catalog's,
  // except that a device named as one here replaces that one in its place; the file's
  // network_defaults are optional, and each figure given replaces this catalog's. Throws
  // InputError as parse does.
  ExtendedCatalog extended_by(std::string_view yaml_text, const std::string& file_label) const;
  ExtendedCatalog extended_by_file(const std::filesystem::path& path) const;

  const std::vector<DeviceSpec>& devices() const { return devices_; }
  const NetworkDefaults& network_defaults() const { return network_defaults_; }
  const DeviceSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<DeviceSpec> devices_;
  NetworkDefaults network_defaults_;

  // Reads `yaml_text` into this catalog: network_defaults are required unless `extending`, and
  // the devices read are appended, or replace one of the same name when `extending`.
  void read(std::string_view yaml_text, const std::string& file_label, bool extending,
            std::vector<std::string>& replaced);
};

struct ExtendedCatalog {
  Catalog catalog;
  std::vector<std::string> replaced;  // in the file's order
};

// The message for a device name `catalog` does not have: "'H100-SMX5-80GB' is not in the device
// catalog; did you mean 'H100-SXM5-80GB'?" for a near miss, the devices whose names contain it
// for a short name ("'H100' ...; did you mean H100-SXM5-80GB or H100-PCIe-80GB?"), else every
// known device.
std::string unknown_device_message(const Catalog& catalog, std::string_view name);

}  // namespace scaleplan
