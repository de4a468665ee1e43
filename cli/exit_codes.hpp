// The exit codes of `scaleplan` (docs/cli.md lists them for scripts).
#pragma once

namespace scaleplan {

inline constexpr int exit_success = 0;
inline constexpr int exit_internal_error = 1;  // a bug or an unexpected failure
inline constexpr int exit_bad_input = 2;       // a file or an argument is wrong; stderr says why
// `run` or `simulate` with --require-fit, when the plan does not fit in device memory.
inline constexpr int exit_does_not_fit = 3;
// `execute`: an op hung past --timeout, or the run was interrupted; every rank was stopped
// (MPI_Abort) after writing what it had measured.
inline constexpr int exit_execution_stopped = 4;

struct ExitCode {
  int code;
  const char* meaning;
};
// For the man page; docs/cli.md says the same.
inline constexpr ExitCode exit_codes[] = {
    {exit_success, "success (a plan that does not fit is still a success without --require-fit)"},
    {exit_internal_error, "an internal error: a bug, or a failure the program did not expect"},
    {exit_bad_input,
     "bad input: a file or an argument is wrong; stderr names the file, line, "
     "column and key and says what would be valid"},
    {exit_does_not_fit,
     "run or simulate with --require-fit: the plan does not fit in device "
     "memory (the report is printed all the same)"},
    {exit_execution_stopped,
     "execute: an op hung past --timeout, or the run was interrupted; every rank was stopped "
     "after writing what it had measured"},
};

}  // namespace scaleplan
