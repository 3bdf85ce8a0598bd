#pragma once

// What vbsim's exit status means, for the command line and the sweeps alike.

namespace vbsim::platform {

// Exit statuses of vbsim (README "Exit status").
inline constexpr int kExitChecksPassed = 0;   // every check of every scenario passed
inline constexpr int kExitCheckFailed = 1;    // a check failed (FAIL lines on stderr)
inline constexpr int kExitBadInput = 2;       // bad arguments or scenario, a limit, out of
                                              // memory, or an output that cannot be written
inline constexpr int kExitInternalError = 3;  // a bug: an unexpected exception or SystemC error

}  // namespace vbsim::platform
