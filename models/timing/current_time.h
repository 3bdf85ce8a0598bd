#pragma once

#include <systemc>

namespace vbsim::models {

// SystemC's current time, sc_core::sc_time_stamp() inlined: the library's is an out-of-line
// call, and the guest's steps, the device and the interrupt line ask for it several times each.
inline const sc_core::sc_time& current_time() {
    return sc_core::sc_get_curr_simcontext()->time_stamp();
}

}  // namespace vbsim::models
