// Writing a command's output file, with the path in the error a bad one gets.
#pragma once

#include <fstream>
#include <string>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

// Writes `text` to `path`; throws InputError naming the path where it cannot (main reports it
// with exit code 2).
inline void write_output_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out)
    throw InputError({{{path, 0, 0}, "", "cannot open for writing"}});
  out << text;
  if (!out)
    throw InputError({{{path, 0, 0}, "", "cannot write the file"}});
}

}  // namespace scaleplan
