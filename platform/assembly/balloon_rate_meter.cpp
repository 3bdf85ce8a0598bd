#include "platform/assembly/balloon_rate_meter.h"

namespace vbsim::platform {

void BalloonRateMeter::round_sent(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t started_ns,
                                  uint64_t sent_ns) {
    direction(kind).round_started_ns = started_ns;
    if (downstream_ != nullptr) {
        downstream_->round_sent(kind, pfns, started_ns, sent_ns);
    }
}

void BalloonRateMeter::round_acked(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t now_ns) {
    Direction& moved = direction(kind);
    moved.pages += pfns;
    moved.busy_ns += now_ns - moved.round_started_ns;
    if (downstream_ != nullptr) {
        downstream_->round_acked(kind, pfns, now_ns);
    }
}

void BalloonRateMeter::stats_posted(uint32_t entries, uint64_t now_ns) {
    if (downstream_ != nullptr) {
        downstream_->stats_posted(entries, now_ns);
    }
}

void BalloonRateMeter::oom_release(uint64_t pfns, uint64_t now_ns) {
    if (downstream_ != nullptr) {
        downstream_->oom_release(pfns, now_ns);
    }
}

}  // namespace vbsim::platform
