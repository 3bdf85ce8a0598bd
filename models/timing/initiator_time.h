#pragma once

#include <systemc>
#include <tlm>

#include "models/timing/current_time.h"

namespace vbsim::models {

// An ignorable extension for an access an initiator makes while running ahead of SystemC
// time: its annotated delay then carries it past sc_time_stamp(), and `kernel_time` is where
// the initiator's own time stands without its local offset — what sc_time_stamp() would be had
// it synchronised first. Targets that book an access at "now" (not at now + delay) take this
// instead; without the extension, now is sc_time_stamp().
struct InitiatorTime : tlm::tlm_extension<InitiatorTime> {
    sc_core::sc_time kernel_time = sc_core::SC_ZERO_TIME;

    tlm::tlm_extension_base* clone() const override { return new InitiatorTime(*this); }
    void copy_from(const tlm::tlm_extension_base& other) override {
        kernel_time = static_cast<const InitiatorTime&>(other).kernel_time;
    }
};

// The time a target books an access at: the initiator's kernel time when it runs ahead.
inline sc_core::sc_time access_base_time(const tlm::tlm_generic_payload& trans) {
    const InitiatorTime* ahead = trans.get_extension<InitiatorTime>();
    return ahead != nullptr ? ahead->kernel_time : models::current_time();
}

}  // namespace vbsim::models
