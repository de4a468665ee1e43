#include "sim/capacity/economics.hpp"

namespace scaleplan::capacity {

double facility_power_w(const ClusterSize& size, double device_power_w,
                        const PowerSettings& power) {
  return (size.devices * device_power_w + size.nodes * power.node_overhead_w) * power.pue;
}

double energy_mwh(double facility_power_w, double wall_s) {
  return facility_power_w * wall_s / 3.6e9;
}

double capital_usd(const ClusterSize& size, const BuyPrice& price) {
  return size.devices * price.usd_per_device.value + size.nodes * price.usd_per_node +
         size.ports * price.usd_per_port;
}

Cost rent_cost(const ClusterSize& size, const RentPrice& price, double wall_s) {
  Cost cost;
  cost.usd = size.devices * price.usd_per_device_hour.value * wall_s / 3600;
  return cost;
}

Cost buy_cost(const ClusterSize& size, const BuyPrice& price, double wall_s, double energy_mwh,
              const PowerSettings& power) {
  Cost cost;
  cost.capital_usd = capital_usd(size, price);
  cost.energy_usd = energy_mwh * 1000 * power.usd_per_kwh;
  cost.usd = cost.capital_usd * wall_s / (price.life_years * seconds_per_year) + cost.energy_usd;
  return cost;
}

}  // namespace scaleplan::capacity
