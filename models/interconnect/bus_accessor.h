#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
    // annotated access time either way. Inline for the common case, an access inside the
    // DMI region that served the same 4 KiB page last time: virtqueue rings and buffers take
    // a few dozen small accesses per buffer.
    bool read(tlm::tlm_fw_transport_if<>& bus, uint64_t address, void* data, size_t length,
              sc_core::sc_time& delay) {
        if (const tlm::tlm_dmi* region = hinted(address, length, tlm::TLM_READ_COMMAND)) {
            std::memcpy(data, region->get_dmi_ptr() + (address - region->get_start_address()),
                        length);
            delay += region->get_read_latency();
            ++counters_.dmi_accesses;
            counters_.bytes += length;
            return true;
        }
        return access(bus, tlm::TLM_READ_COMMAND, address, static_cast<uint8_t*>(data), length,
                      delay);
    }
    bool write(tlm::tlm_fw_transport_if<>& bus, uint64_t address, const void* data, size_t length,
               sc_core::sc_time& delay) {
        if (const tlm::tlm_dmi* region = hinted(address, length, tlm::TLM_WRITE_COMMAND)) {
            std::memcpy(region->get_dmi_ptr() + (address - region->get_start_address()), data,
                        length);
            delay += region->get_write_latency();
            ++counters_.dmi_accesses;
            counters_.bytes += length;
            return true;
        }
        // The payload API takes a non-const pointer; a write never modifies it.
        return access(bus, tlm::TLM_WRITE_COMMAND, address,
                      const_cast<uint8_t*>(static_cast<const uint8_t*>(data)), length, delay);
    }

    void invalidate(uint64_t start, uint64_t end);
    const BusAccessorCounters& counters() const { return counters_; }

  private:
    // Which region find() returned for an address of a 4 KiB page, per page-number slot;
    // forgotten whenever regions_ changes, so an index always names the same region.
    struct Hint {
        uint64_t page = ~uint64_t{0};
        size_t region = 0;
    };
    static constexpr unsigned kHintPageShift = 12;
    static constexpr size_t kHintSlots = 16;

    bool access(tlm::tlm_fw_transport_if<>& bus, tlm::tlm_command command, uint64_t address,
                uint8_t* data, size_t length, sc_core::sc_time& delay);
    const tlm::tlm_dmi* find(uint64_t address, tlm::tlm_command command) const;
    // The hinted region of `address`'s page when it covers the whole access with the
    // permission it needs; otherwise null (find() decides).
    const tlm::tlm_dmi* hinted(uint64_t address, size_t length, tlm::tlm_command command) const {
        const uint64_t page = address >> kHintPageShift;
        const Hint& hint = hints_[page % kHintSlots];
        if (hint.page != page || length == 0) {
            return nullptr;
        }
        const tlm::tlm_dmi& region = regions_[hint.region];
        const bool allowed =
            command == tlm::TLM_READ_COMMAND ? region.is_read_allowed() : region.is_write_allowed();
        if (!allowed || address < region.get_start_address() ||
            length - 1 > region.get_end_address() - address) {
            return nullptr;
        }
        return &region;
    }
    void remember(uint64_t address, const tlm::tlm_dmi* region) {
        hints_[(address >> kHintPageShift) % kHintSlots] =
            Hint{address >> kHintPageShift, static_cast<size_t>(region - regions_.data())};
    }
    void forget_hints() { hints_.fill(Hint{}); }

    size_t max_regions_;
    std::vector<tlm::tlm_dmi> regions_;
    std::array<Hint, kHintSlots> hints_{};
    BusAccessorCounters counters_;
    tlm::tlm_generic_payload payload_;
};

}  // namespace vbsim::models
