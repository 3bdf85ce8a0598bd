#pragma once

// SystemC reports, which is how the models warn (a misbehaving guest) and how SystemC
// signals errors, as a command-line tool shows them: on stderr, as
// "vbsim: warning: <type>: <message>", without SystemC's source file paths, with the text made
// safe for a terminal. Errors still throw (the command catches them and exits 3); nothing
// aborts the process, and nothing throws while an exception is already unwinding the stack.

namespace vbsim::platform {

// `show_warnings` false (--quiet) keeps warnings off the terminal; errors always show.
void install_report_handler(bool show_warnings);

}  // namespace vbsim::platform
