#include "platform/config/feature_names.h"

#include <stdexcept>

#include "spec/virtio.h"

namespace vbsim::platform {

namespace {

struct NamedBit {
    const char* scenario_name;
    const char* spec_name;
    unsigned int bit;
};

constexpr NamedBit kBits[] = {
    {"must_tell_host", "MUST_TELL_HOST", spec::balloon::kFeatureMustTellHost},
    {"stats_vq", "STATS_VQ", spec::balloon::kFeatureStatsVq},
    {"deflate_on_oom", "DEFLATE_ON_OOM", spec::balloon::kFeatureDeflateOnOom},
    {"free_page_hint", "FREE_PAGE_HINT", spec::balloon::kFeatureFreePageHint},
    {"page_poison", "PAGE_POISON", spec::balloon::kFeaturePagePoison},
    {"page_reporting", "PAGE_REPORTING", spec::balloon::kFeaturePageReporting},
    {"ring_indirect_desc", "RING_INDIRECT_DESC", spec::feature::kRingIndirectDesc},
    {"ring_event_idx", "RING_EVENT_IDX", spec::feature::kRingEventIdx},
    {"version_1", "VERSION_1", spec::feature::kVersion1},
};

}  // namespace

uint64_t balloon_feature_bits(const std::vector<std::string>& names) {
    uint64_t bits = 0;
    for (const std::string& name : names) {
        bool found = false;
        for (const NamedBit& named : kBits) {
            if (name == named.scenario_name) {
                bits |= spec::feature::bit(named.bit);
                found = true;
            }
        }
        if (!found) {
            throw std::invalid_argument("unknown balloon feature '" + name + "'");
        }
    }
    return bits;
}

const std::vector<std::string>& balloon_feature_names() {
    static const std::vector<std::string> names = {"must_tell_host", "stats_vq",
                                                   "deflate_on_oom", "free_page_hint",
                                                   "page_poison",    "page_reporting"};
    return names;
}

std::vector<std::string> balloon_feature_names_of(uint64_t bits) {
    std::vector<std::string> names;
    for (const std::string& name : balloon_feature_names()) {
        if ((bits & balloon_feature_bits({name})) != 0) {
            names.push_back(name);
        }
    }
    return names;
}

std::string describe_features(uint64_t bits) {
    std::string text;
    for (const NamedBit& named : kBits) {
        if ((bits & spec::feature::bit(named.bit)) != 0) {
            text += text.empty() ? "" : " ";
            text += named.spec_name;
        }
    }
    return text;
}

}  // namespace vbsim::platform
