#include "platform/assembly/lookahead_gate.h"

#include "models/timing/current_time.h"
#include "models/timing/max_time.h"
#include "platform/assembly/guest_node.h"

namespace vbsim::platform {

LookaheadGate::LookaheadGate(const models::HostMemory& host, const models::ObservationClock& clock)
    : host_(host), clock_(clock) {}

bool LookaheadGate::open() {
    const sc_core::sc_time& end = clock_.next_bounding_observation();
    if (end <= models::current_time()) {
        return false;  // observers are due now
    }
    if (decided_ && end == decided_for_) {
        return open_;  // (never decided for an unbounded window)
    }
    if (end == models::max_time()) {
        return false;  // no observer is left to bound the window
    }
    decided_ = true;
    decided_for_ = end;
    // Pages the host swapped out come back when touched: they count as growth too.
    const uint64_t ram = host_.host_ram_bytes();
    uint64_t worst = host_.host_used_bytes() + host_.swap_used_bytes();
    open_ = worst <= ram;
    const sc_core::sc_time window = end - models::current_time();
    for (const GuestNode* guest : guests_) {
        if (!open_) {
            break;
        }
        const uint64_t growth = guest->host_growth_bound_bytes(window);
        open_ = growth <= ram - worst;
        worst += open_ ? growth : 0;
    }
    ++(open_ ? windows_opened_ : windows_closed_);
    return open_;
}

}  // namespace vbsim::platform
