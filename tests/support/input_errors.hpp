// What the readers of the YAML layer report, as text, for tests of their messages, and edits of a
// valid text. Knows only hardware/input, so tests of every layer can use it.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan::test {

// `text` with the first `from` replaced by `to`; a test failure when `from` is not there.
inline std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

// The message of the InputError `f` throws; empty when it throws none. Any other exception
// escapes, so a reader that fails some other way fails the test.
inline std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// The message of the InputError `f` throws; a test failure when it throws none.
inline std::string message_of(const std::function<void()>& f) {
  std::string message = input_error_of(f);
  if (message.empty())
    ADD_FAILURE() << "expected an InputError";
  return message;
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
