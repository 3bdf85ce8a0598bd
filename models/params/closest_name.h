#pragma once

// "Did you mean" for names a person typed: the closest candidate by edit distance.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vbsim::params {

// Levenshtein distance (insertions, deletions, substitutions).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` (the first of equals), or nullptr when there is none.
const std::string* closest_name(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'ram'?)" when a candidate is within `max_distance` edits of `word`, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates,
                         size_t max_distance = 2);

}  // namespace vbsim::params
