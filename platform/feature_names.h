#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vbsim::platform {

// Bits for the names; an unknown name is a programming error here (the loader
// validates names before this is called) and throws std::invalid_argument.
uint64_t balloon_feature_bits(const std::vector<std::string>& names);
// "MUST_TELL_HOST STATS_VQ RING_EVENT_IDX VERSION_1": every set bit, spec names.
std::string describe_features(uint64_t bits);

}  // namespace vbsim::platform
