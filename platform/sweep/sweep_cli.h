#pragma once

// `vbsim sweep check|run|collect`: parameter sweeps over a base scenario (docs/sweeps.md).

#include <string>
#include <vector>

namespace vbsim::platform {

const char* sweep_usage();

// The arguments after `vbsim sweep`. Returns the process exit status; never throws.
int sweep_main(const std::vector<std::string>& arguments);

}  // namespace vbsim::platform
