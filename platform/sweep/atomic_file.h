#pragma once

// A sweep's own files (plan, state, results) are written whole or not at all, so that a
// stopped or resumed sweep never reads half of one.

#include <string>

namespace vbsim::platform {

// Writes `text` to a temporary file beside `path` and renames it into place. Returns an empty
// string, or "cannot write PATH[: reason]" (the temporary file is removed then).
std::string write_file_atomically(const std::string& path, const std::string& text);

}  // namespace vbsim::platform
