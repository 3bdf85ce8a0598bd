#pragma once

// The units parser moved to models/params/units.h so that models can declare parameters with
// units; platform code keeps spelling its names unqualified.

#include "models/params/units.h"

namespace vbsim::platform {

using params::binary_spelling;
using params::format_grouped;
using params::format_size;
using params::format_time;
using params::kExpectAddress;
using params::kExpectCount;
using params::kExpectFraction;
using params::kExpectNumber;
using params::kExpectRate;
using params::kExpectSize;
using params::kExpectTime;
using params::parse_address;
using params::parse_bandwidth_bytes_per_ns;
using params::parse_count;
using params::parse_fraction;
using params::parse_number;
using params::parse_rate;
using params::parse_size;
using params::parse_time;
using params::Parsed;

}  // namespace vbsim::platform
