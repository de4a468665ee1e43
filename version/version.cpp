#include "version/version.hpp"

#include "version/version_info.hpp"

namespace scaleplan {

const char* scaleplan_version() {
  return SCALEPLAN_VERSION;
}

const char* scaleplan_git_commit() {
  return SCALEPLAN_GIT_COMMIT;
}

std::string scaleplan_version_text() {
  const std::string commit = scaleplan_git_commit();
  return std::string(scaleplan_version()) + (commit.empty() ? "" : " (git " + commit + ")");
}

}  // namespace scaleplan
