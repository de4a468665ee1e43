// What the readers of the YAML layer report, as text, for tests of their messages.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan::test {

// The message of the InputError `f` throws; a test failure when it throws none.
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

// Reads `text` (file f.yaml) as the mapping at `path` and returns every diagnostic the reader
// gives after `read` has asked for its keys; empty for none.
inline std::string diagnostics_of(const std::string& text,
                                  const std::function<void(MapReader&)>& read,
                                  const std::string& path = "section") {
  const YAML::Node node = load_yaml_string(text, "f.yaml");
  Diagnostics diagnostics("f.yaml");
  MapReader map(node, path, diagnostics);
  read(map);
  map.finish();
  try {
    diagnostics.throw_if_any();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace scaleplan::test
