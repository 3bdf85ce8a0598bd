#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vbsim::platform {

// Bits for the names; an unknown name is a programming error here (the loader
// validates names before this is called) and throws std::invalid_argument.
uint64_t balloon_feature_bits(const std::vector<std::string>& names);
// The device-type features a scenario may name (must_tell_host, stats_vq, ...).
const std::vector<std::string>& balloon_feature_names();
// The scenario names of the device-type bits set in `bits`, in the order above.
std::vector<std::string> balloon_feature_names_of(uint64_t bits);
// "MUST_TELL_HOST STATS_VQ RING_EVENT_IDX VERSION_1": every set bit, spec names.
std::string describe_features(uint64_t bits);

}  // namespace vbsim::platform
