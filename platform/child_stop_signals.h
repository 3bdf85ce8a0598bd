#pragma once

// A parent that waits for child processes (a several-file `vbsim run`, a local sweep) passes a
// stop signal (SIGINT, SIGTERM, SIGHUP) on to every child it registered, so each child removes
// its half-written outputs, waits for them to end, and then stops with the same signal itself. A
// signal the caller ignores (nohup) stays ignored.

#include <sys/types.h>

#include <cstddef>

namespace vbsim::platform {

// Children that can be registered at once.
constexpr size_t kMaxForwardedChildren = 256;

// Installs the handlers; calling it again changes nothing.
void forward_stop_signals_to_children();
// Registers a running child; false when kMaxForwardedChildren are registered already.
bool add_forwarded_child(pid_t child);
// Unregisters a child once it has been waited for (its pid may be reused after that).
void remove_forwarded_child(pid_t child);

}  // namespace vbsim::platform
