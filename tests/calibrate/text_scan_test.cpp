// The scanners that replaced regular expressions over other tools' text: what each finds in real
// lines, and that a megabyte-long line is one linear pass.
#include "calibrate/text_scan.hpp"

#include <string>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(TextScan, FindsTheNcclTestsBinaryAsAWord) {
  EXPECT_EQ(nccl_tests_binary_in("mpirun -np 16 ./build/all_reduce_perf -b 8 -e 8G"), "all_reduce");
  EXPECT_EQ(nccl_tests_binary_in("srun ./alltoall_perf_mpi -g 1"), "alltoall");
  // Words are runs of letters, digits and '_': a digit or capital makes no binary name.
  EXPECT_EQ(nccl_tests_binary_in("./all2_reduce_perf"), std::nullopt);
  EXPECT_EQ(nccl_tests_binary_in("./All_reduce_perf"), std::nullopt);
  EXPECT_EQ(nccl_tests_binary_in("_perf perf"), std::nullopt);
  EXPECT_TRUE(names_mpi_launcher("mpiexec -n 2 ./x"));
  EXPECT_FALSE(names_mpi_launcher("./mpirunner -g 2"));
}

TEST(TextScan, ReadsVersions) {
  EXPECT_EQ(nccl_version_in("# NCCL version 2.18.3+cuda12.2"), "2.18.3+cuda12.2");
  EXPECT_EQ(nccl_version_in("NCCL version 2.18 NCCL version 2.19.3 x"), "2.19.3");
  EXPECT_EQ(nccl_version_in("NCCL version"), std::nullopt);
  EXPECT_EQ(nvidia_module_version_in("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  "
                                     "Sat Aug 19 01:15:15 UTC 2023"),
            "535.104.05");
  EXPECT_EQ(nvidia_module_version_in("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  "
                                     "550.54.14  Release Build"),
            "550.54.14");
  EXPECT_EQ(nvidia_module_version_in("Kernel Module for x86_64 unknown"), std::nullopt);
}

TEST(TextScan, MegabyteLinesAreOnePass) {
  // std::regex recursed once per character and overflowed the stack near 30 KB.
  const std::string letters(1 << 20, 'a');
  EXPECT_EQ(nccl_tests_binary_in(letters), std::nullopt);
  EXPECT_EQ(nccl_tests_binary_in(letters + "_perf"), letters);
  EXPECT_EQ(identifier_words(letters + " " + letters).size(), 2u);
  EXPECT_EQ(nccl_version_in("NCCL version " + std::string(1 << 20, '1')), std::nullopt);
  EXPECT_EQ(nvidia_module_version_in("Kernel Module " + std::string(1 << 20, '9') + ".1"),
            std::string(1 << 20, '9') + ".1");
}

}  // namespace
}  // namespace scaleplan
