// Scanning the text other tools print (nccl-tests output, /proc/driver/nvidia/version) without
// regular expressions: std::regex recurses once per character it matches, so a long line of
// hostile input overflows the stack. Every function here is one pass, O(length), no recursion.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scaleplan {

// The maximal runs of ASCII letters, digits and '_' in `line` (the words `\b` separates in a
// regular expression), in order.
std::vector<std::string_view> identifier_words(std::string_view line);

// The collective's base name of the first nccl-tests binary named in `line`: a word of
// lower-case letters and '_' ending in `_perf` or `_perf_mpi` ("all_reduce" for
// "./build/all_reduce_perf -b 8"). std::nullopt when no word is one.
std::optional<std::string> nccl_tests_binary_in(std::string_view line);

// Whether `line` has the word mpirun, mpiexec or srun.
bool names_mpi_launcher(std::string_view line);

// The version after the first "NCCL version " in `line` that is followed by one: three
// dot-separated numbers and whatever follows up to the next white space ("2.18.3+cuda12.2").
std::optional<std::string> nccl_version_in(std::string_view line);

// The driver version in the first line of /proc/driver/nvidia/version ("535.104.05" in "NVRM
// version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." or in "... Open Kernel
// Module for x86_64  550.54.14 ..."): two or three dot-separated numbers.
std::optional<std::string> nvidia_module_version_in(std::string_view line);

}  // namespace scaleplan
