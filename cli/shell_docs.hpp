// Shell completion (bash, zsh) and the man page, generated from the command line's own CLI11
// definitions (its commands, options, their descriptions and choices), so that they cannot drift
// from the program. `scaleplan completion bash|zsh` and `scaleplan man` print them; the build
// writes them beside the binary and `cmake --install` installs them (cli/CMakeLists.txt).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace scaleplan {

// A bash script defining the completion of `scaleplan`: commands, options per command, the
// choices of options that have them (--network-model), files for other values.
std::string bash_completion(const CLI::App& app);
// The same as a zsh completion function (#compdef scaleplan), with each command's and option's
// description.
std::string zsh_completion(const CLI::App& app);
// A man page (troff, section 1): every command with its arguments and options, the exit codes.
std::string man_page(const CLI::App& app, std::string_view version);

// Registers `completion bash|zsh` and `man` on `app`; the returned function runs the one given
// (after parsing) and returns the exit code. They describe `app` as it is when they run, every
// command registered.
std::function<int()> add_shell_docs_commands(CLI::App& app);

}  // namespace scaleplan
