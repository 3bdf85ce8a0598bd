#pragma once

// Text from a scenario (names, values quoted in messages) shown on a terminal: control
// characters and bytes that are not UTF-8 could move the cursor, recolour or garble it.

#include <string>
#include <string_view>

namespace vbsim::platform {

// `text` with control characters (other than tab) and invalid UTF-8 bytes written as \xNN,
// and a backslash before a literal backslash-x, so that nothing printed can be mistaken.
std::string printable(std::string_view text);

}  // namespace vbsim::platform
