#pragma once

// The balloon's inflate and deflate rates as the guest sees them: 4 KiB pages moved per
// second of simulated time spent moving them. Each round counts from the moment the driver
// began it (allocating or picking the pages) to the device's acknowledgement, so a rate
// includes the guest's work, the host's per-page and per-buffer cost and the interrupt, and
// leaves out idle time (no target change, the 200 ms allocation retry). Every deflate counts:
// towards a target, for the OOM path, and the drain before freeze or remove.

#include <cstdint>

#include "sw/balloon/balloon_driver_observer.h"

namespace vbsim::platform {

class BalloonRateMeter final : public sw::balloon::BalloonDriverObserver {
  public:
    // Every event is passed on to `downstream` too, when set (the timeline trace).
    void set_downstream(sw::balloon::BalloonDriverObserver* downstream) {
        downstream_ = downstream;
    }

    // Pages per simulated second; 0 when nothing moved that way.
    double inflate_rate() const { return inflate_.rate(); }
    double deflate_rate() const { return deflate_.rate(); }
    uint64_t pages_inflated() const { return inflate_.pages; }
    uint64_t pages_deflated() const { return deflate_.pages; }

    void round_sent(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t started_ns,
                    uint64_t sent_ns) override;
    void round_acked(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t now_ns) override;
    void stats_posted(uint32_t entries, uint64_t now_ns) override;
    void oom_release(uint64_t pfns, uint64_t now_ns) override;

  private:
    struct Direction {
        uint64_t pages = 0;
        uint64_t busy_ns = 0;
        uint64_t round_started_ns = 0;  // of the round in flight (one per queue)
        double rate() const {
            return busy_ns == 0 ? 0.0
                                : static_cast<double>(pages) * 1e9 / static_cast<double>(busy_ns);
        }
    };
    Direction& direction(sw::balloon::RoundKind kind) {
        return kind == sw::balloon::RoundKind::kFill ? inflate_ : deflate_;
    }

    Direction inflate_;
    Direction deflate_;
    sw::balloon::BalloonDriverObserver* downstream_ = nullptr;
};

}  // namespace vbsim::platform
