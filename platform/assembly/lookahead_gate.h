#pragma once

#include <cstdint>
#include <vector>

#include <systemc>

#include "models/host/host_memory.h"
#include "models/timing/observation_clock.h"

namespace vbsim::platform {

class GuestNode;

// Whether guests may run ahead of SystemC time until the next observation that bounds
// lookahead (ObservationClock::next_bounding_observation(): not the sampler), as far as the
// host's memory is concerned. A guest running ahead touches host pages before their time;
// that is harmless while no touch can make the host reclaim (swap or OOM-kill), since
// reclaim picks its victim from the host's state at that moment. So lookahead is allowed in an
// observation window only when the host's usage plus everything every guest could touch
// before the window ends fits its RAM: then no order of the touches reaches reclaim. Decided
// once per window (the next bounding observation's time), at the first guest's request.
class LookaheadGate {
  public:
    LookaheadGate(const models::HostMemory& host, const models::ObservationClock& clock);

    void add_guest(const GuestNode& guest) { guests_.push_back(&guest); }
    // Lookahead allowed from now to the clock's next bounding observation.
    bool open();
    uint64_t windows_opened() const { return windows_opened_; }
    uint64_t windows_closed() const { return windows_closed_; }

  private:
    const models::HostMemory& host_;
    const models::ObservationClock& clock_;
    std::vector<const GuestNode*> guests_;
    sc_core::sc_time decided_for_ = sc_core::SC_ZERO_TIME;  // the window's end
    bool decided_ = false;
    bool open_ = false;
    uint64_t windows_opened_ = 0;
    uint64_t windows_closed_ = 0;
};

}  // namespace vbsim::platform
