#pragma once

// The guest CPU's parameters, apart from the CPU (platform/assembly/guest_cpu.h) so that the
// parameter tree can take their defaults without the module.

#include <systemc>

namespace vbsim::platform {

struct GuestCpuParams {
    unsigned int interrupt_lines = 1;
    // Temporal decoupling: how far the guest may run ahead of the kernel's time.
    sc_core::sc_time quantum = sc_core::sc_time(10, sc_core::SC_US);
    // Guest cost of taking an interrupt (entry, dispatch, return).
    sc_core::sc_time interrupt_entry_cost = sc_core::sc_time(1, sc_core::SC_US);
    // Lookahead (see GuestCpu::set_lookahead_horizon): results are the same either way; off,
    // every guest waits in SystemC at every timer and synchronisation.
    bool lookahead = true;
};

}  // namespace vbsim::platform
