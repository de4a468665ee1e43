// End-to-end: shell completion and the man page, generated from the command line's definitions
// and installed by `cmake --install`.
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

const std::string binary = SCALEPLAN_BINARY;

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-shell-docs-test");
}

// What bash completes after `words` (the word being completed last, maybe empty).
std::string bash_completes(const std::string& script, const std::string& words) {
  const Output out = scaleplan::test::run_command(
      "bash -c 'source " + script + "; COMP_WORDS=(" + words +
      "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _scaleplan; echo \"${COMPREPLY[*]}\"'");
  EXPECT_EQ(out.status, 0) << out.text;
  return out.text;
}

TEST(ShellDocs, BashCompletesCommandsOptionsAndChoices) {
  const auto dir = test_dir();
  const std::string script = (dir / "scaleplan.bash").string();
  const Output written = scaleplan::test::run_command(binary + " completion bash -o " + script);
  ASSERT_EQ(written.status, 0) << written.text;
  EXPECT_EQ(
      bash_completes(script, "scaleplan \"\""),
      "run simulate validate catalog calibrate plan balance capacity sweep report execute compare "
      "completion "
      "man\n");
  EXPECT_EQ(bash_completes(script, "scaleplan calibrate f"), "fit fit-steps fit-catalog\n");
  EXPECT_EQ(bash_completes(script, "scaleplan run --network-model \"\""),
            "auto flows alpha-beta\n");
  // After a flag comes an option again, not its value.
  EXPECT_EQ(bash_completes(script, "scaleplan run --json --net"), "--network-model\n");
  EXPECT_EQ(bash_completes(script, "scaleplan simulate --c"),
            "--cluster --catalog --calibration\n");
  std::filesystem::remove_all(dir);
}

TEST(ShellDocs, ZshCompletesCommandsOptionsAndChoices) {
  if (scaleplan::test::run_command("command -v zsh").status != 0)
    GTEST_SKIP() << "zsh is not installed";
  const auto dir = test_dir();
  const std::string script = (dir / "_scaleplan").string();
  ASSERT_EQ(scaleplan::test::run_command(binary + " completion zsh -o " + script).status, 0);
  // zsh's completion functions stubbed to print what they are given; `words`, CURRENT and
  // PREFIX set as zsh sets them for the word being completed.
  const std::string harness = (dir / "harness.zsh").string();
  // The file ends by calling _scaleplan, as zsh's autoloading expects: sourced after `words`,
  // CURRENT and PREFIX are set, it completes once.
  std::ofstream(harness) << "_describe() { local name=${@[-1]}; local -a a; a=(\"${(@P)name}\"); "
                            "print -r -- \"${(j: :)${a[@]%%:*}}\"; }\n"
                            "compadd() { shift; print -r -- \"$*\"; }\n"
                            "_files() { print -r -- files; }\n"
                            "words=(\"$@\"); CURRENT=${#words}; PREFIX=${words[-1]}\n"
                            "source "
                         << script << "\n";
  const auto completes = [&](const std::string& words) {
    return scaleplan::test::run_command("zsh " + harness + " " + words).text;
  };
  EXPECT_EQ(
      completes("scaleplan \"\""),
      "run simulate validate catalog calibrate plan balance capacity sweep report execute compare "
      "completion "
      "man\n");
  EXPECT_EQ(completes("scaleplan calibrate \"\""), "import fit compare fit-steps fit-catalog\n");
  EXPECT_EQ(completes("scaleplan run --network-model \"\""), "auto flows alpha-beta\n");
  EXPECT_EQ(completes("scaleplan run --trace \"\""), "files\n");
  EXPECT_EQ(completes("scaleplan catalog --json --"), "--help -h --catalog --replace-catalog\n");
  std::filesystem::remove_all(dir);
}

TEST(ShellDocs, ZshCompletionAndTheManPageDescribeEveryCommand) {
  const Output zsh = scaleplan::test::run_command(binary + " completion zsh");
  ASSERT_EQ(zsh.status, 0) << zsh.text;
  EXPECT_EQ(zsh.text.rfind("#compdef scaleplan\n", 0), 0u);
  const Output man = scaleplan::test::run_command(binary + " man");
  ASSERT_EQ(man.status, 0) << man.text;
  // Each command with its arguments, an optional one in brackets (troff escapes hyphens).
  for (const auto& [command, synopsis] : std::vector<std::pair<std::string, std::string>>{
           {"run", "run SCENARIO [OPTIONS]"},
           {"simulate", "simulate PLAN [OPTIONS]"},
           {"validate", "validate PATHS ... [OPTIONS]"},
           {"catalog", "catalog [NAME] [OPTIONS]"},
           {"calibrate fit-steps", "calibrate fit\\-steps PROFILE RUNS ... [OPTIONS]"}}) {
    EXPECT_NE(zsh.text.find("(\" " + command + "\")"), std::string::npos) << command;
    EXPECT_NE(man.text.find(".SS \"scaleplan " + synopsis + "\"\n"), std::string::npos) << synopsis;
  }
  // The exit codes scripts rely on, --require-fit's among them.
  EXPECT_NE(man.text.find(".SH EXIT STATUS"), std::string::npos);
  EXPECT_NE(man.text.find("run or simulate with \\-\\-require\\-fit"), std::string::npos)
      << man.text;
}

TEST(ShellDocs, InstallPutsThemWhereShellsAndManLook) {
  const auto prefix = test_dir() / "prefix";
  const std::string build = std::filesystem::path(binary).parent_path().string();
  const Output installed =
      scaleplan::test::run_command("cmake --install " + build + " --prefix " + prefix.string());
  ASSERT_EQ(installed.status, 0) << installed.text;
  for (const char* file :
       {"share/bash-completion/completions/scaleplan", "share/zsh/site-functions/_scaleplan",
        "share/man/man1/scaleplan.1", "bin/scaleplan"}) {
    EXPECT_TRUE(std::filesystem::exists(prefix / file)) << file;
  }
  // The installed completion is the one the installed program writes.
  const Output now =
      scaleplan::test::run_command((prefix / "bin/scaleplan").string() + " completion bash");
  std::ifstream in(prefix / "share/bash-completion/completions/scaleplan");
  EXPECT_EQ(now.text,
            std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  std::filesystem::remove_all(prefix.parent_path());
}

}  // namespace
