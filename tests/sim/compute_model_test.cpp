// The catalog's compute model (sim/simulate/compute_model.hpp): GEMM efficiency by shape (tile
// and wave quantisation) and by dtype. Each expectation is derived in the comment before it.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "hardware/io/catalog.hpp"
#include "models/kernel.hpp"
#include "sim/simulate/compute_model.hpp"

namespace scaleplan {
namespace {

GemmTiling tiling(double sms, double max_m, double max_n, double min_tile) {
  return {{sms, "test"}, {max_m, "test"}, {max_n, "test"}, {min_tile, "test"}, std::nullopt};
}

const DeviceSpec& h100() {
  return *Catalog::builtin().find("H100-SXM5-80GB");
}

// The share of the single-kernel figures that published H100 training steps sustain: the one
// number fitted to them (docs/validation.md). It scales the GH100 devices' tensor-core figures
// alike: the bf16 GEMM asymptote 0.845 (XLA's measured table), fp8's 0.740 (0.876 of it, the
// median measured ratio) and fused attention's 0.552 (cuDNN in the FlashAttention-3 paper, its
// curve's asymptote). Blackwell keeps the share as fitted before the compute beside NCCL's
// kernels was slowed by the SMs they hold (its catalog gives no SM count for that), 0.68.
constexpr double h100_sustained = 0.702;
constexpr double blackwell_sustained = 0.68;

double seconds_per_flop(const ComputeModel& model, const Kernel& kernel) {
  return model.kernel_time_s(kernel) / kernel.flops;
}

TEST(GemmWaveEfficiency, FullTilesInWholeWavesWasteNothing) {
  // 4 processors, tiles of 128 x 128 only: 256 x 256 is 2 x 2 = 4 full tiles, one whole wave.
  const GemmTiling t = tiling(4, 128, 128, 128);
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {256, 256, 4096, 1}), 1.0);
  // A batch of 3 of them: 12 tiles, 3 whole waves.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {256, 256, 4096, 3}), 1.0);
}

TEST(GemmWaveEfficiency, OneColumnPastATileCostsAWholeTileAndAWave) {
  // n = 257 needs 3 tile columns: 2 x 3 = 6 tiles on 4 processors, 2 waves of 4 slots of
  // 128 x 128, of which 256 x 257 elements are useful: 65792 / 131072.
  const GemmTiling t = tiling(4, 128, 128, 128);
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {256, 257, 4096, 1}), 256.0 * 257 / (2 * 4 * 128 * 128));
}

TEST(GemmWaveEfficiency, TheLibraryPicksTheTileThatWastesLeast) {
  // Tiles 64 x 64 to 128 x 128 on 4 processors. m = n = 192: with 128 x 128, 2 x 2 = 4 tiles in
  // one wave of 4 x 16384 slots (36864 useful: 0.5625); with 64 x 64, 3 x 3 = 9 tiles in 3 waves
  // of 4 x 4096 (0.75); 64 x 128 and 128 x 64, 3 x 2 = 6 tiles in 2 waves of 4 x 8192 (0.5625).
  const GemmTiling t = tiling(4, 128, 128, 64);
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {192, 192, 64, 1}), 0.75);
}

TEST(GemmWaveEfficiency, AGemmUnderOneWaveSplitsItsReduction) {
  // A weight gradient of a 64 -> 64 channel 1 x 1 convolution: C is 64 x 64, one tile, and the
  // reduction runs over the batch's pixels (k = 2^20). On 108 processors the library splits k:
  // 64 slices of 16384 fill 64 of the 108 slots of one wave (128 slices would take two waves for
  // the same work), so 64 / 108 of the slots do useful work; without the split, 1 / 108.
  const GemmTiling t = tiling(108, 256, 128, 64);
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {64, 64, 1 << 20, 1}), 64.0 / 108);
  // A short reduction cannot be split below one block of min_tile: k = 256 gives 4 slices.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {64, 64, 256, 1}), 4.0 / 108);
  // A GEMM whose tiles fill a wave is not split: 2 x 3 = 6 tiles of 128 x 128 on 4 processors
  // keeps its 2 waves (splitting them would only add waves).
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(tiling(4, 128, 128, 128), {256, 257, 1 << 20, 1}),
                   256.0 * 257 / (2 * 4 * 128 * 128));
}

TEST(GemmWaveEfficiency, AThinGemmIsNotPaddedToTheSmallestTile) {
  // An MLP's single output: n = 1. Padded to 64 x 64 tiles it would use 1/64 of each; a narrow
  // kernel's tiles are 1 wide, so m = 1024 x 64 rows make 1024 full tiles of 64 x 1 (or 512 of
  // 128 x 1...) in whole waves of 4.
  const GemmTiling t = tiling(4, 128, 128, 64);
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {65536, 1, 256, 1}), 1.0);
  // n = 24 runs in tiles 32 wide: 24 / 32 of each tile is useful.
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {65536, 24, 256, 1}), 24.0 / 32);
}

TEST(CatalogComputeEfficiency, AGemmOneColumnPastATileMultipleIsSlowerPerFlopOnH100) {
  // H100 SXM5: 132 SMs, tiles from 64 x 64 to 128 x 256. m = 1408 = 11 x 128, n = 3072 =
  // 12 x 256: 132 tiles of 128 x 256, one whole wave, nothing wasted. n = 3073: the best tile is
  // 64 x 64, 22 x 49 = 1078 tiles in 9 waves of 132 x 4096 slots, 1408 x 3073 useful:
  // 0.8892 (128 x 256: 143 tiles in 2 waves, 0.546; 128 x 128: 275 tiles in 3 waves, 0.667).
  const GemmTiling& t = *h100().gemm_tiling;
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(t, {1408, 3072, 8192, 1}), 1.0);
  EXPECT_NEAR(gemm_wave_efficiency(t, {1408, 3073, 8192, 1}), 1408.0 * 3073 / (9 * 132 * 64 * 64),
              1e-12);
  const RooflineModel model(h100());
  const Kernel whole = make_gemm("whole", {1408, 3072, 8192, 1}, Dtype::bf16);
  const Kernel past = make_gemm("past", {1408, 3073, 8192, 1}, Dtype::bf16);
  // Per FLOP, 1/0.8892 = 12.5 % slower, less the size curve's slight gain for the larger GEMM.
  EXPECT_GT(seconds_per_flop(model, past), 1.10 * seconds_per_flop(model, whole));
}

TEST(CatalogComputeEfficiency, H100Fp8GemmsReachLessOfTheirPeakThanBf16) {
  // The catalog: bf16 0.845 of 989.4 TFLOP/s, fp8 0.740 of 1978.9 (0.876 x 0.845, the median
  // fp8/bf16 ratio of the shapes measured in both on one H100), both at the share a training
  // step sustains, and the size curve's half point 4.8 GFLOP at the bf16 rate, twice that at
  // fp8's twice-as-fast rate (1978.9 / 989.4).
  const DeviceSpec& d = h100();
  const double bf16_eta = 0.845 * h100_sustained, fp8_eta = 0.740 * h100_sustained;
  EXPECT_NEAR(d.compute_efficiency_of(Dtype::bf16).value, 0.845, 1e-12);
  EXPECT_NEAR(d.compute_efficiency_of(Dtype::fp8).value, 0.740, 1e-12);
  EXPECT_NEAR(d.sustained_share_value(), h100_sustained, 1e-12);
  EXPECT_DOUBLE_EQ(*d.gemm_half_efficiency_flops_of(Dtype::fp8), 4.8e9 * 1978.9e12 / 989.4e12);
  // 8192^3: F = 1.0995e12 FLOPs, 2048 tiles of 128 x 256 in 16 waves of 132 (0.970), or 64 x 64
  // in 124.1 -> 125 waves (0.993): the same wave efficiency q in both dtypes.
  const Kernel bf16 = make_gemm("g", {8192, 8192, 8192, 1}, Dtype::bf16);
  const Kernel fp8 = make_gemm("g", {8192, 8192, 8192, 1}, Dtype::fp8);
  const double f = bf16.flops;
  const double q = gemm_wave_efficiency(*d.gemm_tiling, bf16.gemm);
  EXPECT_NEAR(catalog_compute_efficiency(d, bf16), bf16_eta * f / (f + 4.8e9) * q, 1e-12);
  EXPECT_NEAR(catalog_compute_efficiency(d, fp8), fp8_eta * f / (f + 4.8e9 * 1978.9 / 989.4) * q,
              1e-12);
  EXPECT_LT(catalog_compute_efficiency(d, fp8), 0.88 * catalog_compute_efficiency(d, bf16));
  // Still faster in time: 2 x 0.740 / 0.845 = 1.75 x the bf16 rate, less the curve.
  const RooflineModel model(d);
  EXPECT_LT(model.kernel_time_s(fp8), 0.6 * model.kernel_time_s(bf16));
}

TEST(CatalogComputeEfficiency, SmallGemmsOfAFasterDtypeNeedMoreWorkToFillTheDevice) {
  // At F = F0(bf16) = 4.8 GFLOP a bf16 GEMM is at half its asymptote; an fp8 GEMM of the same
  // FLOPs at 4.8 / (4.8 + 9.6) = 1/3 of its own. A device without fp8-specific figures would run
  // both at the same fraction of their peaks.
  const DeviceSpec& d = h100();
  const double f0 = 4.8e9;
  const double fp8_f0 = *d.gemm_half_efficiency_flops_of(Dtype::fp8);
  EXPECT_NEAR(f0 / (f0 + fp8_f0), 1.0 / 3.0, 1e-4);
}

TEST(CatalogComputeEfficiency, FusedAttentionIsNotTiledAsOneGemm) {
  // A fused attention kernel is named by the shape of Q K^T but is not that one GEMM: it runs at
  // the device's fused-attention figure (H100: cuDNN's causal forward in the FlashAttention-3
  // paper, at the share a step sustains) with the size curve, not the tiling: an N one past a
  // tile multiple costs it nothing.
  const DeviceSpec& d = h100();
  Kernel attention = make_gemm("flash_attention", {1408, 3073, 128, 1}, Dtype::bf16);
  attention.kind = KernelKind::attention;
  const double f = attention.flops;
  const double at_3073_keys = 0.552 * 3073 / (3073 + 262.0);
  EXPECT_NEAR(catalog_compute_efficiency(d, attention),
              at_3073_keys * h100_sustained * f / (f + 4.8e9), 1e-12);
}

// A fused kernel of `keys` per query, large enough that the size curve leaves it alone; it moves
// Q, K, V and O (no scores), so its arithmetic bounds it.
Kernel fused_attention(std::int64_t keys, AttentionLibrary library) {
  Kernel k = make_gemm("flash_attention", {keys, keys, 128, 4096}, Dtype::bf16);
  k.kind = KernelKind::attention;
  k.bytes = 4.0 * static_cast<double>(keys) * 128 * 4096 * 2;
  k.attention_library = library;
  return k;
}

TEST(CatalogComputeEfficiency, FusedAttentionReachesTheBenchmarksFiguresAtTheirSequenceLengths) {
  // Each curve is drawn through two published points (2k and 8k keys, causal, head dim 128);
  // the points it was not drawn through are its test. H100, forward (FlashAttention-3 paper,
  // figure 5): cuDNN 484, 529, 539 TFLOP/s and FlashAttention-2 298, 333, 335 at 2k, 8k, 16k of
  // 989.4. A100, forward + backward (FlashAttention-2 README, figure 4d): FlashAttention-2 99,
  // 133, 155, 173, 182, 189 at 512 to 16k of 312.
  struct Point {
    const char* device;
    AttentionLibrary library;
    std::int64_t keys;
    double tflops;
    double peak_tflops;
    double tolerance;  // relative: on the curve's two points ~0, elsewhere what it misses by
  };
  const Point points[] = {
      {"H100-SXM5-80GB", AttentionLibrary::cudnn, 2048, 484, 989.4, 0.005},
      {"H100-SXM5-80GB", AttentionLibrary::cudnn, 8192, 529, 989.4, 0.005},
      {"H100-SXM5-80GB", AttentionLibrary::cudnn, 16384, 539, 989.4, 0.01},
      {"H100-SXM5-80GB", AttentionLibrary::flash_attention_2, 2048, 298, 989.4, 0.005},
      {"H100-SXM5-80GB", AttentionLibrary::flash_attention_2, 8192, 333, 989.4, 0.005},
      {"H100-SXM5-80GB", AttentionLibrary::flash_attention_2, 16384, 335, 989.4, 0.02},
      {"A100-SXM4-80GB", AttentionLibrary::flash_attention_2, 1024, 133, 312, 0.03},
      {"A100-SXM4-80GB", AttentionLibrary::flash_attention_2, 2048, 155, 312, 0.005},
      {"A100-SXM4-80GB", AttentionLibrary::flash_attention_2, 4096, 173, 312, 0.01},
      {"A100-SXM4-80GB", AttentionLibrary::flash_attention_2, 8192, 182, 312, 0.005},
      {"A100-SXM4-80GB", AttentionLibrary::flash_attention_2, 16384, 189, 312, 0.01},
  };
  // What a step keeps of a benchmark: H100's sustained_share; A100's GEMM figure was fitted to
  // steps (0.785 of its single-GEMM asymptote 0.886), and its attention figures keep the same.
  const double a100_step_share = 0.785 / 0.886;
  for (const Point& p : points) {
    const DeviceSpec& d = *Catalog::builtin().find(p.device);
    const Kernel k = fused_attention(p.keys, p.library);
    const double size_curve = k.flops / (k.flops + *d.gemm_half_efficiency_flops_of(Dtype::bf16));
    const double step_share = d.sustained_share ? d.sustained_share_value() : a100_step_share;
    const double benchmark = catalog_compute_efficiency(d, k) / (step_share * size_curve);
    EXPECT_NEAR(benchmark, p.tflops / p.peak_tflops, p.tolerance * p.tflops / p.peak_tflops)
        << p.device << " " << to_string(p.library) << " at " << p.keys << " keys";
  }
}

TEST(CatalogComputeEfficiency,
     TritonAttentionKeepsItsBenchmarksShapeAtTheLevelTrainingStepsShowed) {
  // The FlashAttention-2 README's benchmark of the Triton kernel (figure 4d, A100, forward +
  // backward, causal, head dim 128) gives its shape over the sequence: 61, 68, 74, 78, 80 TFLOP/s
  // at 1k, 2k, 4k, 8k and 16k. llm-foundry's long-sequence steps give its level, 1.34 times the
  // benchmark's (kept at A100's step share 0.785 / 0.886), since the runs' kernel beat the
  // benchmark's (docs/validation.md, llm-foundry's tables).
  const DeviceSpec& a100 = *Catalog::builtin().find("A100-SXM4-40GB");
  const auto efficiency = [&](std::int64_t keys) {
    const Kernel k = fused_attention(keys, AttentionLibrary::flash_attention_triton);
    const double size_curve =
        k.flops / (k.flops + *a100.gemm_half_efficiency_flops_of(Dtype::bf16));
    return catalog_compute_efficiency(a100, k) / size_curve;
  };
  const std::pair<std::int64_t, double> benchmark[] = {
      {1024, 61}, {2048, 68}, {4096, 74}, {16384, 80}};
  for (const auto& [keys, tflops] : benchmark)
    EXPECT_NEAR(efficiency(keys) / efficiency(8192), tflops / 78.0, 0.05 * tflops / 78.0) << keys;
  EXPECT_NEAR(efficiency(8192), 78.0 / 312 * (0.785 / 0.886) * 1.34, 0.01 * 78.0 / 312);
}

TEST(CatalogComputeEfficiency, EachAttentionLibraryRunsAtItsOwnFigureWhereTheDeviceHasOne) {
  // On H100 FlashAttention-2 reaches 333 TFLOP/s of causal forward at 8k where cuDNN reaches 529
  // (FlashAttention-3 paper, figure 5), so the same kernel takes some 1.6 times as long in its
  // arithmetic. On A100 Transformer Engine runs FlashAttention-2 for the cudnn library (it prefers
  // cuDNN's only from Hopper on), so the two run alike; materialised attention's products are
  // batched GEMMs on either device, timed as GEMMs (without the tiling, as before).
  const Kernel cudnn = fused_attention(8192, AttentionLibrary::cudnn);
  const Kernel flash2 = fused_attention(8192, AttentionLibrary::flash_attention_2);
  const Kernel triton = fused_attention(8192, AttentionLibrary::flash_attention_triton);
  EXPECT_NEAR(
      catalog_compute_efficiency(h100(), flash2) / catalog_compute_efficiency(h100(), cudnn),
      333.0 / 529.0, 0.01);
  const RooflineModel model(h100());
  EXPECT_GT(model.kernel_time_s(flash2), model.kernel_time_s(cudnn) * 1.5);
  const DeviceSpec& a100 = *Catalog::builtin().find("A100-SXM4-80GB");
  EXPECT_EQ(catalog_compute_efficiency(a100, cudnn), catalog_compute_efficiency(a100, flash2));
  for (const DeviceSpec* d : {&h100(), &a100}) {
    Kernel product = cudnn;
    product.attention_product = true;
    Kernel gemm = cudnn;
    gemm.kind = KernelKind::gemm;
    const double as_gemm =
        catalog_compute_efficiency(*d, gemm) / gemm_wave_efficiency(*d->gemm_tiling, gemm.gemm);
    EXPECT_NEAR(catalog_compute_efficiency(*d, product), as_gemm, 1e-12) << d->name;
  }
  // The Triton kernel, at the level llm-foundry's long-sequence steps showed on each device,
  // still runs well below FlashAttention-2 on both (A100 at 8k: 78 x 1.34 against 182 TFLOP/s).
  for (const DeviceSpec* d : {&h100(), &a100}) {
    EXPECT_LT(catalog_compute_efficiency(*d, triton), 0.8 * catalog_compute_efficiency(*d, flash2))
        << d->name;
  }
}

TEST(CatalogComputeEfficiency, ASmallerDeviceRunsTheSameAttentionKernelSlower) {
  // Fewer SMs at a lower peak must not run a fused attention kernel faster: H100 PCIe (114 SMs)
  // below H100 SXM5 (132), A100 below both, for every library and at short and long sequences.
  // (H100 PCIe once had no attention figure and ran attention at its GEMM figure, faster than
  // the SXM5's cuDNN kernels.)
  const Catalog& c = Catalog::builtin();
  const std::vector<std::pair<const char*, const char*>> slower_faster = {
      {"H100-PCIe-80GB", "H100-SXM5-80GB"}, {"A100-SXM4-80GB", "H100-PCIe-80GB"}};
  for (const auto& [slower, faster] : slower_faster) {
    const RooflineModel slow(*c.find(slower));
    const RooflineModel fast(*c.find(faster));
    for (const auto& [library, name] : attention_library_names.entries()) {
      for (std::int64_t keys : {1024, 8192}) {
        const Kernel k = fused_attention(keys, library);
        EXPECT_GT(slow.kernel_time_s(k), fast.kernel_time_s(k))
            << slower << " against " << faster << ", " << name << " at " << keys;
      }
    }
  }
}

TEST(CatalogComputeEfficiency, OneSustainedShareScalesEveryGh100TensorCoreFigure) {
  // The fit to training steps is one figure, sustained_share, for H100 SXM5, H200 (the same
  // GH100 at the same clocks and power) and H100 PCIe (defined as H100 SXM5's share): their
  // single-kernel figures keep the ratios the benchmarks measured (fp8/bf16 0.740/0.845,
  // attention/bf16 0.535/0.845, PCIe/SXM5 0.79/0.845), and every GEMM and attention kernel runs
  // at the share of them.
  const Catalog& c = Catalog::builtin();
  const DeviceSpec& sxm = h100();
  const DeviceSpec& h200 = *c.find("H200-SXM-141GB");
  const DeviceSpec& pcie = *c.find("H100-PCIe-80GB");
  for (const DeviceSpec* d : {&sxm, &h200, &pcie}) {
    ASSERT_TRUE(d->sustained_share) << d->name;
    EXPECT_EQ(d->sustained_share->value, h100_sustained) << d->name;
    EXPECT_EQ(d->sustained_share->source, sxm.sustained_share->source) << d->name;
  }
  for (const DeviceSpec* d : {&sxm, &h200}) {
    EXPECT_NEAR(d->compute_efficiency_of(Dtype::bf16).value, 0.845, 1e-12) << d->name;
    EXPECT_NEAR(d->compute_efficiency_of(Dtype::fp8).value, 0.740, 1e-12) << d->name;
    EXPECT_NEAR(d->attention.at(AttentionLibrary::cudnn).efficiency.value, 0.552, 1e-12) << d->name;
  }
  EXPECT_NEAR(pcie.compute_efficiency_of(Dtype::bf16).value, 0.79, 1e-12);
  EXPECT_NEAR(pcie.compute_efficiency_of(Dtype::fp8).value, 0.692, 1e-12);
  // An elementwise kernel of FLOPs (no curve, no tiling) shows the product alone.
  Kernel scale = make_gemm("scale", {8, 8, 8, 1}, Dtype::bf16);
  scale.kind = KernelKind::elementwise;
  EXPECT_NEAR(catalog_compute_efficiency(pcie, scale), 0.79 * h100_sustained, 1e-12);
  // A100's asymptote was fitted to its steps directly (0.785 against the benchmarks' 0.886), so
  // it carries no share: a step sustains less than a benchmark on both generations.
  const DeviceSpec& a100 = *c.find("A100-SXM4-80GB");
  EXPECT_LT(h100_sustained, 1.0);
  EXPECT_FALSE(a100.sustained_share);
  EXPECT_EQ(a100.sustained_share_value(), 1.0);
  EXPECT_LT(a100.compute_efficiency_of(Dtype::bf16).value, 0.886);
}

TEST(CatalogComputeEfficiency, BlackwellKeepsTheGh100ShareOfItsBenchmarksAndCudnnsCurve) {
  // B200 and GB200 have single-kernel GEMM figures only (ml-engineering's best shapes, 0.776 and
  // 0.729 of peak). A training step sustains less than such a benchmark: Blackwell takes GH100's
  // fitted share (as fitted before the SMs NCCL's kernels hold were modelled, which Blackwell's
  // catalog cannot time), and its fused attention runs on H100's cuDNN curve as a fraction of its
  // own peak. Without them a Llama 3 8B step on 8 B200 came out 31 % faster than measured, its
  // attention timed at the GEMM figure.
  const Catalog& c = Catalog::builtin();
  const Kernel attention = fused_attention(8192, AttentionLibrary::cudnn);
  const double h100_fraction = catalog_compute_efficiency(h100(), attention);
  for (const char* name : {"B200-SXM-180GB", "GB200-NVL72-186GB"}) {
    const DeviceSpec& d = *c.find(name);
    ASSERT_TRUE(d.sustained_share) << name;
    EXPECT_EQ(d.sustained_share_value(), blackwell_sustained) << name;
    EXPECT_FALSE(d.gemm_tiling) << name;
    const Kernel gemm = make_gemm("g", {8192, 8192, 8192, 1}, Dtype::bf16);
    EXPECT_NEAR(catalog_compute_efficiency(d, gemm),
                d.compute_efficiency.value * blackwell_sustained * gemm.flops /
                    (gemm.flops + *d.gemm_half_efficiency_flops_of(Dtype::bf16)),
                1e-12)
        << name;
    // The same curve of its own peak: only the size curve, scaled to the faster device, differs.
    const auto size_curve = [&](const DeviceSpec& device) {
      return attention.flops /
             (attention.flops + *device.gemm_half_efficiency_flops_of(Dtype::bf16));
    };
    EXPECT_NEAR(catalog_compute_efficiency(d, attention) / size_curve(d),
                h100_fraction / size_curve(h100()) * blackwell_sustained / h100_sustained, 1e-12)
        << name;
    EXPECT_LT(catalog_compute_efficiency(d, attention), catalog_compute_efficiency(d, gemm))
        << name;
    // More than twice H100's peak at the same fraction: the kernel takes less than half as long.
    EXPECT_LT(RooflineModel(d).kernel_time_s(attention),
              0.5 * RooflineModel(h100()).kernel_time_s(attention))
        << name;
  }
}

TEST(CatalogComputeEfficiency, TheDescriptionNamesTheAttentionFigureAKernelRunsAt) {
  // The report's compute model line says which figure timed a job's fused attention: the
  // library's own curve (its share of the benchmark and its half length), cuDNN's where the
  // device has no figure of the library, or the GEMM curve where it has none at all.
  const Catalog& c = Catalog::builtin();
  const RooflineModel h100_model(h100());
  EXPECT_EQ(h100_model.attention_description(AttentionLibrary::cudnn, Dtype::bf16),
            fmt::format("fused attention (cudnn) in bf16 up to {:.3g} of peak, half of that at "
                        "262 keys",
                        0.552 * h100_sustained));
  EXPECT_NE(h100_model.attention_description(AttentionLibrary::flash_attention_2, Dtype::fp16)
                .find("fused attention (flash-attention-2) in fp16 up to 0.246 of peak, half of "
                      "that at 334 keys"),
            std::string::npos);
  const RooflineModel b200(*c.find("B200-SXM-180GB"));
  EXPECT_NE(b200.attention_description(AttentionLibrary::flash_attention_2, Dtype::bf16)
                .find("(flash-attention-2, at cudnn's figure) in bf16 up to 0.375 of peak"),
            std::string::npos)
      << b200.attention_description(AttentionLibrary::flash_attention_2, Dtype::bf16);
  const DeviceSpec& mi300x = *c.find("MI300X-192GB");
  ASSERT_TRUE(mi300x.attention.empty());
  EXPECT_EQ(
      RooflineModel(mi300x).attention_description(AttentionLibrary::cudnn, Dtype::bf16),
      "fused attention at the GEMM curve: the catalog gives MI300X-192GB no attention figure");
}

TEST(CatalogComputeEfficiency, TheSustainedShareScalesGemmsAndAttentionAlike) {
  // Halving the share halves every tensor-core efficiency, curve and tiling unchanged: a GEMM
  // and a fused attention kernel take twice as long in their arithmetic.
  DeviceSpec half = h100();
  half.sustained_share->value = h100_sustained / 2;
  Kernel attention = make_gemm("flash_attention", {4096, 4096, 128, 16}, Dtype::bf16);
  attention.kind = KernelKind::attention;
  for (const Kernel& k : {make_gemm("g", {8192, 8192, 8192, 1}, Dtype::fp8), attention}) {
    EXPECT_NEAR(catalog_compute_efficiency(half, k), catalog_compute_efficiency(h100(), k) / 2,
                1e-12)
        << k.name;
  }
}

TEST(CatalogComputeEfficiency, ADeviceWithoutTilingOrDtypeFiguresKeepsItsOneCurve) {
  // B200 has neither: every GEMM runs at its sustained share of compute_efficiency x
  // F / (F + F0(dtype)).
  const DeviceSpec& d = *Catalog::builtin().find("B200-SXM-180GB");
  ASSERT_FALSE(d.gemm_tiling);
  const Kernel g = make_gemm("g", {1408, 3073, 8192, 1}, Dtype::bf16);
  const double f0 = d.gemm_half_efficiency_flops->value;
  EXPECT_DOUBLE_EQ(
      catalog_compute_efficiency(d, g),
      d.compute_efficiency.value * d.sustained_share_value() * g.flops / (g.flops + f0));
}

}  // namespace
}  // namespace scaleplan
