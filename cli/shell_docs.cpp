#include "cli/shell_docs.hpp"

#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "cli/output_file.hpp"
#include "hardware/input/diagnostics.hpp"
#include "version/version.hpp"

namespace scaleplan {

namespace {

// What completion needs to know of one option.
struct OptionInfo {
  std::vector<std::string> names;  // "--json", "-o"
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices;  // from an IsMember check; empty: a file or free text
  std::string value_name;            // "FILE", "FLOAT": CLI11's type name, without choices
};

struct CommandInfo {
  std::string path;  // "calibrate fit"; empty for scaleplan itself
  std::string description;
  std::vector<std::string> subcommands;
  std::vector<std::string> subcommand_descriptions;
  std::vector<OptionInfo> options;
  // "SCENARIO", with "..." when it takes several, in brackets when optional ("[NAME]").
  std::vector<std::string> positionals;
};

// The choices CLI11 writes into an option's type name for an IsMember check: "TEXT:{a,b,c}".
std::vector<std::string> choices_of(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  const auto open = type.find('{');
  const auto close = type.find('}', open);
  std::vector<std::string> choices;
  if (open == std::string::npos || close == std::string::npos)
    return choices;
  std::string item;
  for (char c : type.substr(open + 1, close - open - 1)) {
    if (c == ',') {
      choices.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  choices.push_back(item);
  return choices;
}

void collect(const CLI::App& app, const std::string& path, std::vector<CommandInfo>& out) {
  CommandInfo info;
  info.path = path;
  info.description = app.get_description();
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_positional()) {
      std::string name = option->get_name(true, false);
      for (char& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      name += option->get_items_expected_max() > 1 ? " ..." : "";
      info.positionals.push_back(option->get_required() ? name : "[" + name + "]");
      continue;
    }
    OptionInfo o;
    for (const std::string& l : option->get_lnames())
      o.names.push_back("--" + l);
    for (const std::string& s : option->get_snames())
      o.names.push_back("-" + s);
    o.description = option->get_description();
    // A flag expects no items (CLI11 sets its expected count to 0).
    o.takes_value = option->get_items_expected_max() > 0;
    if (o.takes_value) {
      o.choices = choices_of(*option);
      o.value_name = option->get_type_name().substr(0, option->get_type_name().find(':'));
      if (o.value_name.empty())
        o.value_name = "VALUE";
    }
    info.options.push_back(std::move(o));
  }
  const auto subcommands = app.get_subcommands([](const CLI::App*) { return true; });
  for (const CLI::App* sub : subcommands) {
    info.subcommands.push_back(sub->get_name());
    info.subcommand_descriptions.push_back(sub->get_description());
  }
  out.push_back(std::move(info));
  for (const CLI::App* sub : subcommands)
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
}

std::vector<CommandInfo> commands_of(const CLI::App& app) {
  std::vector<CommandInfo> out;
  collect(app, "", out);
  return out;
}

std::string joined(const std::vector<std::string>& words, std::string_view separator = " ") {
  std::string out;
  for (const std::string& w : words)
    out += (out.empty() ? "" : std::string(separator)) + w;
  return out;
}

// Text inside single quotes in a shell script.
std::string single_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command path as the completion scripts track it: " calibrate fit".
std::string script_path(const CommandInfo& c) {
  return c.path.empty() ? "" : " " + c.path;
}

// The `case` arms both shells share: which word after which path starts a subcommand.
std::string subcommand_transitions(const std::vector<CommandInfo>& commands, bool zsh) {
  std::string out;
  for (const CommandInfo& c : commands) {
    for (const std::string& sub : c.subcommands) {
      const std::string next = script_path(c) + " " + sub;
      out += fmt::format("      {}\"{}\") cmd_path=\"{}\" ;;\n", zsh ? "(" : "",
                         script_path(c) + " " + sub, next);
    }
  }
  return out;
}

// The `case "$cmd_path|$prev"` arms both shells share: after an option that takes a value, its
// choices, or a file name.
std::string value_arms(const std::vector<CommandInfo>& commands, bool zsh) {
  std::string out;
  for (const CommandInfo& c : commands) {
    for (const OptionInfo& o : c.options) {
      if (!o.takes_value)
        continue;
      std::string arms;
      for (const std::string& name : o.names)
        arms += (arms.empty() ? "" : "|") + fmt::format("\"{}|{}\"", script_path(c), name);
      std::vector<std::string> choices;
      for (const std::string& choice : o.choices)
        choices.push_back(single_quoted(choice));
      if (zsh) {
        out += fmt::format("    ({}) {}; return ;;\n", arms,
                           choices.empty() ? "_files" : "compadd -- " + joined(choices));
      } else if (choices.empty()) {
        out += fmt::format("    {}) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", arms);
      } else {
        out += fmt::format("    {}) COMPREPLY=($(compgen -W {} -- \"$cur\")); return ;;\n", arms,
                           single_quoted(joined(o.choices)));
      }
    }
  }
  return out;
}

}  // namespace

std::string bash_completion(const CLI::App& app) {
  const std::vector<CommandInfo> commands = commands_of(app);
  std::string out =
      "# bash completion for scaleplan, generated by `scaleplan completion bash` from its own\n"
      "# command-line definitions. Source it, or install it as\n"
      "# share/bash-completion/completions/scaleplan (cmake --install does).\n"
      "_scaleplan() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  local cmd_path=\"\" i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case \"$cmd_path ${COMP_WORDS[i]}\" in\n";
  out += subcommand_transitions(commands, false);
  out +=
      "    esac\n"
      "  done\n"
      "  local subcommands=\"\" options=\"\"\n"
      "  case \"$cmd_path|$prev\" in\n";
  out += value_arms(commands, false);
  out +=
      "  esac\n"
      "  case \"$cmd_path\" in\n";
  for (const CommandInfo& c : commands) {
    std::vector<std::string> names;
    for (const OptionInfo& o : c.options)
      names.insert(names.end(), o.names.begin(), o.names.end());
    out += fmt::format("    \"{}\") subcommands={}; options={} ;;\n", script_path(c),
                       single_quoted(joined(c.subcommands)), single_quoted(joined(names)));
  }
  out +=
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))\n"
      "  elif [[ -n $subcommands ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$subcommands\" -- \"$cur\"))\n"
      "  else\n"
      "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      "  fi\n"
      "}\n"
      "complete -o filenames -F _scaleplan scaleplan\n";
  return out;
}

std::string zsh_completion(const CLI::App& app) {
  const std::vector<CommandInfo> commands = commands_of(app);
  // "name:description" items for _describe, colons in names and descriptions escaped.
  const auto item = [](const std::string& name, const std::string& description) {
    const auto escaped = [](const std::string& text) {
      std::string out;
      for (char c : text)
        out += c == ':' ? std::string("\\:") : std::string(1, c);
      return out;
    };
    return single_quoted(escaped(name) + ":" + escaped(description));
  };
  std::string out =
      "#compdef scaleplan\n"
      "# zsh completion for scaleplan, generated by `scaleplan completion zsh` from its own\n"
      "# command-line definitions. Install it as _scaleplan in a folder of $fpath\n"
      "# (cmake --install puts it in share/zsh/site-functions).\n"
      "_scaleplan() {\n"
      "  local cmd_path=\"\" i\n"
      "  for ((i = 2; i < CURRENT; i++)); do\n"
      "    case \"$cmd_path ${words[i]}\" in\n";
  out += subcommand_transitions(commands, true);
  out +=
      "    esac\n"
      "  done\n"
      "  local prev=${words[CURRENT-1]}\n"
      "  local -a subcommands options\n"
      "  case \"$cmd_path|$prev\" in\n";
  out += value_arms(commands, true);
  out +=
      "  esac\n"
      "  case \"$cmd_path\" in\n";
  for (const CommandInfo& c : commands) {
    std::vector<std::string> subcommands, options;
    for (std::size_t i = 0; i < c.subcommands.size(); ++i)
      subcommands.push_back(item(c.subcommands[i], c.subcommand_descriptions[i]));
    for (const OptionInfo& o : c.options) {
      for (const std::string& name : o.names)
        options.push_back(item(name, o.description));
    }
    out += fmt::format("    (\"{}\") subcommands=({}); options=({}) ;;\n", script_path(c),
                       joined(subcommands), joined(options));
  }
  out +=
      "  esac\n"
      "  if [[ $PREFIX == -* ]]; then\n"
      "    _describe -t options option options\n"
      "  elif (( ${#subcommands} )); then\n"
      "    _describe -t commands command subcommands\n"
      "  else\n"
      "    _files\n"
      "  fi\n"
      "}\n"
      "_scaleplan \"$@\"\n";
  return out;
}

namespace {

// Text as troff reads it: backslashes and hyphens escaped, no line starting with a control
// character.
std::string troff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\''))
    out = "\\&" + out;
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app, std::string_view version) {
  const std::vector<CommandInfo> commands = commands_of(app);
  std::string out = fmt::format(".TH SCALEPLAN 1 \"\" \"scaleplan {}\" \"User Commands\"\n",
                                troff(std::string(version)));
  out += ".SH NAME\nscaleplan \\- " +
         troff(app.get_description().substr(app.get_description().find(": ") + 2)) + "\n";
  out += ".SH SYNOPSIS\n.B scaleplan\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n";
  out += ".SH DESCRIPTION\n" + troff(app.get_description()) +
         ". Each command below is one way in; \\fBscaleplan COMMAND \\-\\-help\\fR says the "
         "same.\n";
  out += ".SH COMMANDS\n";
  for (const CommandInfo& c : commands) {
    if (c.path.empty())
      continue;
    std::string synopsis = "scaleplan " + c.path;
    if (!c.subcommands.empty())
      synopsis += " " + joined(c.subcommands, "|");
    for (const std::string& p : c.positionals)
      synopsis += " " + p;
    if (!c.options.empty())
      synopsis += " [OPTIONS]";
    out += ".SS \"" + troff(synopsis) + "\"\n" + troff(c.description) + "\n";
    for (const OptionInfo& o : c.options) {
      std::string names;
      for (const std::string& n : o.names)
        names += (names.empty() ? "" : ", ") + ("\\fB" + troff(n) + "\\fR");
      if (o.takes_value)
        names +=
            " \\fI" + troff(o.choices.empty() ? o.value_name : joined(o.choices, "|")) + "\\fR";
      out += ".TP\n" + names + "\n" + troff(o.description) + "\n";
    }
  }
  out += ".SH OPTIONS\n";
  for (const CommandInfo& c : commands) {
    if (!c.path.empty())
      continue;
    for (const OptionInfo& o : c.options) {
      std::string names;
      for (const std::string& n : o.names)
        names += (names.empty() ? "" : ", ") + ("\\fB" + troff(n) + "\\fR");
      out += ".TP\n" + names + "\n" + troff(o.description) + "\n";
    }
  }
  out += ".SH EXIT STATUS\n";
  for (const ExitCode& e : exit_codes)
    out += fmt::format(".TP\n.B {}\n{}\n", e.code, troff(e.meaning));
  out +=
      ".SH SEE ALSO\n"
      "The README and docs/ of the source tree: docs/cli.md (commands, JSON keys, exit codes), "
      "docs/scenario-format.md, docs/plan-format.md, docs/calibration.md.\n";
  return out;
}

std::function<int()> add_shell_docs_commands(CLI::App& app) {
  struct Options {
    CLI::App* completion = nullptr;
    std::string shell;
    std::string output;
  };
  auto o = std::make_shared<Options>();
  o->completion = app.add_subcommand(
      "completion", "Print the shell completion script for bash or zsh (or write it to a file)");
  o->completion->add_option("shell", o->shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  o->completion->add_option("-o,--output", o->output, "Write it to this file")->type_name("FILE");
  CLI::App* man = app.add_subcommand("man", "Print the man page (troff; or write it to a file)");
  man->add_option("-o,--output", o->output, "Write it to this file")->type_name("FILE");
  return [o, &app]() {
    const std::string text = *o->completion
                                 ? (o->shell == "bash" ? bash_completion(app) : zsh_completion(app))
                                 : man_page(app, scaleplan_version());
    if (o->output.empty()) {
      std::cout << text;
      check_standard_output();
    } else {
      write_output_file(o->output, text);
    }
    return exit_success;
  };
}

}  // namespace scaleplan
