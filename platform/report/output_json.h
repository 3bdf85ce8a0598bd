#pragma once

// summary.json: the end-of-run summary and check results, for CI and scripts.

#include <ostream>

#include "platform/run/recording.h"

namespace vbsim::platform {

// Pretty-printed (2-space indent) JSON whose keys mirror RunSummary in snake_case. Times are
// seconds with nine decimals under keys ending in `_s`; integers print as integers, the inflate and
// deflate rates as whole pages per second, other doubles with six significant digits, and a NaN
// or infinite double as null. Derived for convenience:
// `all_checks_passed`, and per episode `time_to_target_s` (null, like `reached_at_s`, when the
// target was not reached). `profile` appears only when has_profile.
void write_summary_json(const RunSummary& summary, std::ostream& out);

}  // namespace vbsim::platform
