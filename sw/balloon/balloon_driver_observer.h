#pragma once

// What the balloon driver reports, as it works, to an optional observer: the platform's rate
// accounting and its timeline trace. Bare-metal: <stdint.h> only. Without an observer the
// driver pays one pointer test per round.

#include <stdint.h>

namespace vbsim::sw::balloon {

// Why a buffer of PFNs went to the device.
enum class RoundKind : uint8_t {
    kFill,        // inflateq: towards a larger target
    kLeak,        // deflateq: towards a smaller target
    kOomRelease,  // deflateq: pages promised to the OOM path (DEFLATE_ON_OOM)
    kDrain,       // deflateq: emptying the balloon for freeze or remove
};

const char* round_kind_name(RoundKind kind);

class BalloonDriverObserver {
  public:
    // A round of `pfns` 4 KiB PFNs was handed to the device at `sent_ns`; the driver began
    // working on it (allocating or picking the pages) at `started_ns`.
    virtual void round_sent(RoundKind kind, uint32_t pfns, uint64_t started_ns,
                            uint64_t sent_ns) = 0;
    // The device acknowledged that round at `now_ns`: the pages changed hands in the guest.
    virtual void round_acked(RoundKind kind, uint32_t pfns, uint64_t now_ns) = 0;
    // A stats buffer of `entries` entries was posted.
    virtual void stats_posted(uint32_t entries, uint64_t now_ns) = 0;
    // The OOM notifier promised `pfns` 4 KiB pages.
    virtual void oom_release(uint64_t pfns, uint64_t now_ns) = 0;

  protected:
    ~BalloonDriverObserver() = default;
};

}  // namespace vbsim::sw::balloon
