#include "models/params/closest_name.h"

#include <algorithm>

namespace vbsim::params {

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

const std::string* closest_name(std::string_view word, const std::vector<std::string>& candidates) {
    const std::string* best = nullptr;
    size_t best_distance = 0;
    for (const std::string& candidate : candidates) {
        const size_t distance = edit_distance(word, candidate);
        if (best == nullptr || distance < best_distance) {
            best = &candidate;
            best_distance = distance;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates,
                         size_t max_distance) {
    const std::string* best = closest_name(word, candidates);
    if (best == nullptr || edit_distance(word, *best) > max_distance) {
        return {};
    }
    return " (did you mean '" + *best + "'?)";
}

}  // namespace vbsim::params
