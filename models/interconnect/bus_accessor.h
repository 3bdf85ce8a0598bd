#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>

namespace vbsim::models {

struct BusAccessorCounters {
    uint64_t transactions = 0;  // b_transport calls
    uint64_t dmi_accesses = 0;  // copies through a DMI pointer
    uint64_t bytes = 0;
    uint64_t errors = 0;
    uint64_t dmi_grants = 0;
};

// Reads and writes memory behind an initiator socket the way a loosely-timed master
// should: through DMI pointers where the target grants them (asked for only after a
// transaction says DMI is allowed), otherwise one burst transaction for the rest of
// the range. The owner forwards the socket's DMI invalidations to invalidate().
class BusAccessor {
  public:
    explicit BusAccessor(size_t max_regions = 32) : max_regions_(max_regions) {}

    // False when the bus answered with an error response; `delay` grows by the
    // annotated access time either way.
    bool read(tlm::tlm_fw_transport_if<>& bus, uint64_t address, void* data, size_t length,
              sc_core::sc_time& delay);
    bool write(tlm::tlm_fw_transport_if<>& bus, uint64_t address, const void* data, size_t length,
               sc_core::sc_time& delay);

    void invalidate(uint64_t start, uint64_t end);
    const BusAccessorCounters& counters() const { return counters_; }

  private:
    bool access(tlm::tlm_fw_transport_if<>& bus, tlm::tlm_command command, uint64_t address,
                uint8_t* data, size_t length, sc_core::sc_time& delay);
    const tlm::tlm_dmi* find(uint64_t address, tlm::tlm_command command) const;

    size_t max_regions_;
    std::vector<tlm::tlm_dmi> regions_;
    BusAccessorCounters counters_;
    tlm::tlm_generic_payload payload_;
};

}  // namespace vbsim::models
