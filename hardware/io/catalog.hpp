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

class Catalog {
 public:
  // Parses catalog YAML; throws InputError naming file, line and key. `file_label` names the
  // text in errors.
  static Catalog parse(std::string_view yaml_text, const std::string& file_label);
  static Catalog load(const std::filesystem::path& path);
  static const Catalog& builtin();

  const std::vector<DeviceSpec>& devices() const { return devices_; }
  const NetworkDefaults& network_defaults() const { return network_defaults_; }
  const DeviceSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<DeviceSpec> devices_;
  NetworkDefaults network_defaults_;
};

}  // namespace scaleplan
