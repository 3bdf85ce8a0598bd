#pragma once

// Checking text from scenario files, which may hold any bytes, before it goes where only
// UTF-8 belongs (summary.json, the terminal).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vbsim::platform {

// The length (2 to 4) of the well-formed multi-byte UTF-8 sequence starting at text[at], and
// its code point in `code_point`; 0 when the bytes there are ASCII or not UTF-8 (a stray
// continuation byte, a truncated or overlong sequence, a surrogate, past U+10FFFF).
size_t utf8_sequence_length(std::string_view text, size_t at, uint32_t& code_point);

}  // namespace vbsim::platform
