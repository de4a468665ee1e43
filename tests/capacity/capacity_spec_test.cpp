#include "sim/capacity/capacity_spec.hpp"

#include <gtest/gtest.h>

namespace scaleplan::capacity {
namespace {

constexpr const char* spec_text = R"(format: scaleplan-capacity/1
name: small
model: {preset: llama2-7b, seq_len: 4096}
training:
  tokens: 1.0e9
  global_batch: 256
  dtype: bf16
deadline_days: 30
options:
  - name: h100
    cluster:
      device: H100-SXM5-80GB
      nodes: [2, 4]
      devices_per_node: 8
      network: {topology: rail-optimized, link_bandwidth_gbps: 400}
    rent: {}
    buy: {usd_per_node: 150000, usd_per_port: 3000, life_years: 5}
  - cluster: {device: TPU-v5p, nodes: 16, devices_per_node: 4, node_fabric: ici,
              network: {topology: torus, dims: [4, 4, 4], cube: [4, 4, 4]}}
    rent: {usd_per_device_hour: 3.5}
)";

const Catalog& catalog() {
  return Catalog::builtin();
}

TEST(CapacitySpec, ReadsTheJobAndEverySize) {
  const CapacitySpec spec = parse_capacity_spec(spec_text, "small.yaml", catalog());
  EXPECT_EQ(spec.name, "small");
  // 1e9 tokens in steps of 256 × 4096 = 1,048,576 tokens: 954 steps (rounded up).
  EXPECT_EQ(spec.steps, 954);
  EXPECT_DOUBLE_EQ(spec.tokens, 954.0 * 256 * 4096);
  EXPECT_DOUBLE_EQ(*spec.deadline_s, 30 * 86400.0);
  ASSERT_EQ(spec.options.size(), 3u);
  EXPECT_EQ(spec.options[0].cluster.device_count(), 16);
  EXPECT_EQ(spec.options[1].cluster.device_count(), 32);
  EXPECT_EQ(spec.options[1].name, "h100");
  // Rent without a price takes the catalog's, with its source; buy the catalog's estimate.
  const DeviceSpec& h100 = *catalog().find("H100-SXM5-80GB");
  EXPECT_EQ(spec.options[0].rent->usd_per_device_hour.value, h100.price_usd_per_hour->value);
  EXPECT_EQ(spec.options[0].buy->usd_per_device.source, h100.purchase_price_usd->source);
  EXPECT_EQ(spec.options[0].buy->life_years, 5);
  // The TPU option is named after its device, rented at the spec's price, not bought.
  EXPECT_EQ(spec.options[2].name, "TPU-v5p");
  EXPECT_EQ(spec.options[2].rent->usd_per_device_hour.value, 3.5);
  EXPECT_FALSE(spec.options[2].buy);
  // Defaults: Llama 3's failure rates, the node overhead, 4-byte token ids for a 32k vocabulary
  // fit in 2 bytes.
  EXPECT_EQ(spec.failures.device_mtbf_h.value, llama3_failure_rates().device_mtbf_h.value);
  EXPECT_EQ(spec.options[0].node_overhead_w, default_node_overhead_w().value);
  EXPECT_EQ(spec.data.bytes_per_token, 2);
}

// Every problem of a bad spec, each at its file, line, column and key.
std::string errors_of(const std::string& text) {
  try {
    parse_capacity_spec(text, "bad.yaml", catalog());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(CapacitySpec, BadSpecsNameFileLineAndKey) {
  std::string text = spec_text;
  text.replace(text.find("H100-SXM5-80GB"), 14, "H100-SXM5-80G");
  text.replace(text.find("life_years: 5"), 13, "life_year: 5");
  text.replace(text.find("tokens: 1.0e9"), 13, "tokens: -1");
  const std::string what = errors_of(text);
  EXPECT_NE(what.find("bad.yaml:12:15: options[0].cluster.device: 'H100-SXM5-80G' is not in the "
                      "device catalog; did you mean 'H100-SXM5-80GB'?"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("bad.yaml:17:10: options[0].buy.life_years: required key is missing"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("options[0].buy.life_year: unknown key"), std::string::npos) << what;
  EXPECT_NE(what.find("bad.yaml:5:11: training.tokens: must be greater than 0"), std::string::npos)
      << what;
  // The device is wrong at both sizes, but said once.
  EXPECT_EQ(what.find("is not in the device catalog"), what.rfind("is not in the device catalog"))
      << what;
}

TEST(CapacitySpec, AClusterThatIsNotAMapIsAnError) {
  // Found by fuzzing (tests/fuzz/corpus/capacity_spec/regression-cluster-not-a-map.yaml): a
  // cluster written as text is read as an empty map, whose absent network the reader looked up;
  // yaml-cpp threw InvalidNode instead of the error being reported.
  std::string text = spec_text;
  const std::size_t from = text.find("    cluster:\n      device: H100");
  const std::size_t to = text.find("    rent: {}");
  text.replace(from, to - from, "    cluster: eight H100 per node\n");
  const std::string what = errors_of(text);
  EXPECT_NE(what.find("bad.yaml:11:14: options[0].cluster: expected a mapping of keys to values"),
            std::string::npos)
      << what;
  // That error alone: none of the cluster's keys is reported missing as well.
  EXPECT_EQ(what.find("options[0].cluster."), std::string::npos) << what;
}

TEST(CapacitySpec, AbsentNetworkKeysAreNoCrash) {
  // Found by fuzzing (regression-network-without-topology.yaml): yaml-cpp throws when asked the
  // type of an absent key's node, and the torus check asked the YAML for the network's topology.
  // It asks the cluster as read now. A cluster without `network`, and a network without
  // `topology` (a fat-tree by default), read or fail as the scenario format says, with an
  // InputError (errors_of catches that, and nothing else).
  const std::string_view network =
      "      network: {topology: rail-optimized, link_bandwidth_gbps: 400}\n";
  for (const std::string replacement : {"", "      network: {link_bandwidth_gbps: 400}\n"}) {
    std::string text = spec_text;
    text.replace(text.find(network), network.size(), replacement);
    EXPECT_NO_THROW(errors_of(text)) << replacement;
  }
}

TEST(CapacitySpec, PaymentAndSizesAreChecked) {
  std::string text = spec_text;
  text.replace(text.find("    rent: {usd_per_device_hour: 3.5}\n"), 36, "");
  text.replace(text.find("nodes: 16"), 9, "nodes: [16, 32]");
  const std::string what = errors_of(text);
  EXPECT_NE(what.find("options[1].rent: give rent, buy or both"), std::string::npos) << what;
  EXPECT_NE(what.find("options[1].cluster.nodes: a torus fixes the device count with its dims"),
            std::string::npos)
      << what;
}

TEST(CapacitySpec, TwoOptionsGivingTheSameRowAreAnError) {
  // A second TPU option unnamed and of the same 64 devices: both rows would read TPU-v5p x64.
  const std::string tpu =
      R"(  - cluster: {device: TPU-v5p, nodes: 16, devices_per_node: 4, node_fabric: ici,
              network: {topology: torus, dims: [4, 4, 4], cube: [4, 4, 4]}}
    rent: {usd_per_device_hour: 3.5}
)";
  const std::string twice = std::string(spec_text) + tpu;
  EXPECT_NE(errors_of(twice).find("bad.yaml:21:14: options[2].cluster: options[1] is also TPU-v5p "
                                  "on 64 devices; give the two options names of their own"),
            std::string::npos)
      << errors_of(twice);
  // Named alike, the same: the error is at the second name. The first h100 option has rows of
  // 16 and 32 devices.
  const std::string h100 =
      "  - name: h100\n    cluster: {device: H100-SXM5-80GB, nodes: 4, "
      "devices_per_node: 8, network: {link_bandwidth_gbps: 400}}\n"
      "    rent: {}\n";
  const std::string named = std::string(spec_text) + h100;
  EXPECT_NE(errors_of(named).find("options[2].name: options[0] is also h100 on 32 devices"),
            std::string::npos)
      << errors_of(named);
  // The same name on another size is another row (the shipped example's two TPU v5p slices).
  std::string sized = named;
  sized.replace(sized.rfind("nodes: 4"), 8, "nodes: 8");
  EXPECT_EQ(errors_of(sized), "");
}

TEST(CapacitySpec, AnUnpricedDeviceNeedsAPrice) {
  std::string text = spec_text;
  text.replace(text.find("    rent: {usd_per_device_hour: 3.5}\n"), 36,
               "    buy: {usd_per_node: 0, "
               "usd_per_port: 0, "
               "life_years: 4}\n");
  const std::string what = errors_of(text);
  EXPECT_NE(what.find("options[1].buy: TPU-v5p has no purchase_price_usd in the catalog"),
            std::string::npos)
      << what;
}

TEST(CapacitySpec, TokensOrStepsNotBoth) {
  std::string text = spec_text;
  text.replace(text.find("  tokens: 1.0e9\n"), 16, "  tokens: 1.0e9\n  steps: 10\n");
  EXPECT_NE(errors_of(text).find("training.steps: give exactly one of tokens"), std::string::npos);
}

TEST(CapacitySpec, TheHeaderSaysWhatTheFileIs) {
  std::string text = spec_text;
  text.replace(0, 28, "format: scaleplan-plan");
  EXPECT_NE(errors_of(text).find("format: expected 'scaleplan-capacity/1' (a capacity spec file)"),
            std::string::npos);
}

}  // namespace
}  // namespace scaleplan::capacity

namespace scaleplan::capacity {
namespace {

TEST(CapacitySpec, TheShippedExampleReads) {
  const CapacitySpec spec = load_capacity_spec(
      SCALEPLAN_SOURCE_DIR "/scenarios/capacity/llama3-70b-15t-tokens.yaml", Catalog::builtin());
  // H100, H200, B200 and MI300X at two sizes each, TPU v5p at two.
  ASSERT_EQ(spec.options.size(), 10u);
  EXPECT_EQ(spec.options[0].cluster.device_count(), 2048);
  EXPECT_EQ(spec.options[9].cluster.device_count(), 6144);
  EXPECT_DOUBLE_EQ(*spec.deadline_s, 90 * 86400.0);
  // 15e12 tokens in steps of 512 · 8192 tokens.
  EXPECT_EQ(spec.steps, 3576279);  // 15e12 / 4,194,304 = 3,576,278.4, rounded up
  for (const ClusterOption& o : spec.options)
    EXPECT_EQ(o.buy.has_value(), o.cluster.device.kind == DeviceKind::gpu) << o.name;
}

}  // namespace
}  // namespace scaleplan::capacity
