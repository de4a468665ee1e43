// Writing the files and the standard output the command lines produce, checked: a full disk,
// /dev/full or a closed pipe is an error that names the path and exits non-zero, never a success
// with nothing written (docs/reliability.md).
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace scaleplan {

// Creates or truncates `path`, lets `write` write to it (through gzip compression when `gzip`),
// then flushes and closes it and checks that every byte reached the file. Throws InputError
// naming the path, with the system's reason, when it cannot be opened or written.
void write_output_file(const std::string& path, const std::function<void(std::ostream&)>& write,
                       bool gzip = false);
void write_output_file(const std::string& path, std::string_view text);

// Flushes std::cout; throws InputError ("<standard output>: cannot write: ...") when what was
// printed did not all reach it. Called by a command before it reports success.
void check_standard_output();

}  // namespace scaleplan
