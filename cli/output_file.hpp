// Writing the files and the standard output the command lines produce, checked: a full disk,
// /dev/full or a closed pipe is an error that names the path and exits non-zero, never a success
// with nothing written (docs/reliability.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

// Creates or truncates `path`, lets `write` write to it (through gzip compression when `gzip`),
// then flushes and closes it and checks that every byte reached the file. Throws InputError
// naming the path, with the system's reason, when it cannot be opened or written.
void write_output_file(const std::string& path, const std::function<void(std::ostream&)>& write,
                       bool gzip = false);
void write_output_file(const std::string& path, std::string_view text);

// The problem with writing YAML of `values` values (yaml_value_count, plan_yaml_values) to
// `path` when the readers could not read it back (more than max_yaml_nodes), as a message
// naming the path, `what` it holds and `advice`; std::nullopt when they can.
std::optional<Diagnostic> unreadable_yaml(const std::string& path, std::uint64_t values,
                                          const std::string& what, const std::string& advice);

// Flushes std::cout; throws InputError ("<standard output>: cannot write: ...") when what was
// printed did not all reach it. Called by a command before it reports success.
void check_standard_output();

}  // namespace scaleplan
