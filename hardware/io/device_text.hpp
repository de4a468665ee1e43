// A device of the catalog as text: every figure, in the unit people read it in, with its source.
// What `scaleplan catalog NAME` prints.
#pragma once

#include <string>

#include "hardware/io/catalog.hpp"

namespace scaleplan {

// Every figure of `device`, one a line ("  memory bandwidth   3350.0 GB/s  [source]"), then the
// network figures of `defaults` that every device of the catalog shares (NICs, switches). An
// optional figure the catalog does not give says so ("price  none in the catalog").
std::string format_device(const DeviceSpec& device, const NetworkDefaults& defaults);

// One line per device: name, kind, vendor, dense bf16 peak (the highest where the device has no
// bf16), memory, memory bandwidth, price.
std::string format_device_list(const Catalog& catalog);

}  // namespace scaleplan
