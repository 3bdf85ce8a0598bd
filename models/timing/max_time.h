#pragma once

#include <systemc>

namespace vbsim::models {

// sc_core::sc_max_time() ("never"), for hot paths that compare against it on every guest
// step: SystemC's goes through the simulation context on each call. The largest time value is
// the same number of resolution ticks whatever the resolution, so one copy serves.
inline const sc_core::sc_time& max_time() {
    static const sc_core::sc_time value = sc_core::sc_max_time();
    return value;
}

}  // namespace vbsim::models
