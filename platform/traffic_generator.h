#pragma once

#include <cstdint>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

namespace vbsim::platform {

struct TrafficGeneratorParams {
    uint64_t base = 0;            // first bus address written
    uint64_t stride = 4096;       // distance between bursts
    uint32_t burst_bytes = 1024;  // one PFN buffer's worth by default
    uint32_t bursts = 256;
};

struct TrafficGeneratorResult {
    uint64_t bursts_written = 0;
    uint64_t bursts_verified = 0;
    uint64_t errors = 0;
    sc_core::sc_time finished_at = sc_core::SC_ZERO_TIME;
};

// A bus master that writes a known pattern in bursts and reads it back: the
// smallest platform workload that exercises the router and a memory end to end.
class TrafficGenerator : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<TrafficGenerator> socket;

    TrafficGenerator(const sc_core::sc_module_name& name, const TrafficGeneratorParams& params);

    const TrafficGeneratorResult& result() const { return result_; }

  private:
    void run();
    bool transfer(tlm::tlm_command command, uint64_t address, uint8_t* data, uint32_t length,
                  sc_core::sc_time& delay);

    TrafficGeneratorParams params_;
    TrafficGeneratorResult result_;
};

}  // namespace vbsim::platform
