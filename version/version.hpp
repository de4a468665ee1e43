// Which build this is: the version the project declares (CMake's project(VERSION)) and the git
// commit it was built from, for `scaleplan --version`, the JSON reports and the trace metadata.
#pragma once

#include <string>

namespace scaleplan {

// "0.1.0".
const char* scaleplan_version();
// The abbreviated commit, with "-dirty" when the checkout had uncommitted changes; empty when
// built outside a git checkout.
const char* scaleplan_git_commit();
// "0.1.0 (git 1a2b3c4d5e6f)", or "0.1.0" without a commit.
std::string scaleplan_version_text();

}  // namespace scaleplan
