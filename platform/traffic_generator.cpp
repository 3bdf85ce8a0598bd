#include "platform/traffic_generator.h"

#include <vector>

namespace vbsim::platform {

TrafficGenerator::TrafficGenerator(const sc_core::sc_module_name& name,
                                   const TrafficGeneratorParams& params)
    : sc_core::sc_module(name), socket("socket"), params_(params) {
    SC_HAS_PROCESS(TrafficGenerator);
    SC_THREAD(run);
}

bool TrafficGenerator::transfer(tlm::tlm_command command, uint64_t address, uint8_t* data,
                                uint32_t length, sc_core::sc_time& delay) {
    tlm::tlm_generic_payload trans;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(length);
    trans.set_streaming_width(length);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(trans, delay);
    if (trans.is_response_error()) {
        ++result_.errors;
        return false;
    }
    return true;
}

void TrafficGenerator::run() {
    std::vector<uint8_t> pattern(params_.burst_bytes);
    std::vector<uint8_t> readback(params_.burst_bytes);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    for (uint32_t burst = 0; burst < params_.bursts; ++burst) {
        for (uint32_t i = 0; i < params_.burst_bytes; ++i) {
            pattern[i] = static_cast<uint8_t>(burst * 7 + i);
        }
        const uint64_t address = params_.base + uint64_t{burst} * params_.stride;
        if (!transfer(tlm::TLM_WRITE_COMMAND, address, pattern.data(), params_.burst_bytes,
                      delay)) {
            continue;
        }
        ++result_.bursts_written;
        if (transfer(tlm::TLM_READ_COMMAND, address, readback.data(), params_.burst_bytes, delay) &&
            readback == pattern) {
            ++result_.bursts_verified;
        }
        // Loosely timed: run ahead, then hand the accumulated time to the kernel.
        wait(delay);
        delay = sc_core::SC_ZERO_TIME;
    }
    result_.finished_at = sc_core::sc_time_stamp();
}

}  // namespace vbsim::platform
