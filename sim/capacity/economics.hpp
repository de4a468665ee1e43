// What a run costs and how much energy it takes, rented or bought. Pure functions on values; money
// in US dollars, power in watts, time in seconds, energy in megawatt-hours.
#pragma once

#include <optional>
#include <string_view>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan::capacity {

enum class Pricing { rent, buy };
inline constexpr EnumNames<Pricing, 2> pricing_names{{{
    {Pricing::rent, "rent"},
    {Pricing::buy, "buy"},
}}};
inline std::string_view to_string(Pricing pricing) {
  return pricing_names.name(pricing);
}

// The cluster's draw: every device at its catalog power plus each node's own (CPUs, NICs, fans,
// switches), times the facility's power usage effectiveness.
struct PowerSettings {
  double node_overhead_w = 0;
  double pue = 1;
  double usd_per_kwh = 0;
};

// Rented: a price per device-hour that covers everything (power included).
struct RentPrice {
  Figure usd_per_device_hour;
};

// Bought: what the cluster costs, amortised over its life, plus the energy it uses. A port is one
// NIC's connection to the network: the NIC, its optics and cable, and its share of the switches.
struct BuyPrice {
  Figure usd_per_device;
  double usd_per_node = 0;
  double usd_per_port = 0;
  double life_years = 0;
};

struct ClusterSize {
  int devices = 0;
  int nodes = 0;
  int ports = 0;  // NICs of the cluster (nodes × NICs per node); 0 for a torus
};

// Watts drawn at the wall: (devices · device power + nodes · node overhead) · PUE.
double facility_power_w(const ClusterSize& size, double device_power_w, const PowerSettings& power);
// Megawatt-hours over `wall_s`.
double energy_mwh(double facility_power_w, double wall_s);

// Purchase price of the whole cluster.
double capital_usd(const ClusterSize& size, const BuyPrice& price);

struct Cost {
  double usd = 0;
  double capital_usd = 0;  // bought: the whole cluster's price (usd holds its amortised share)
  double energy_usd = 0;   // bought: the electricity paid; rented: in the hourly price
};
// Rented: devices · price per device-hour · hours.
Cost rent_cost(const ClusterSize& size, const RentPrice& price, double wall_s);
// Bought: the capital spread over the life, for the run's wall time, plus the energy:
// capital · wall / life + MWh · 1000 · $/kWh.
Cost buy_cost(const ClusterSize& size, const BuyPrice& price, double wall_s, double energy_mwh,
              const PowerSettings& power);

inline constexpr double seconds_per_year = 365.25 * 24 * 3600;

}  // namespace scaleplan::capacity
