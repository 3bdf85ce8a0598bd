#include "models/interconnect/bus_accessor.h"

#include <algorithm>
#include <cstring>

namespace vbsim::models {

const tlm::tlm_dmi* BusAccessor::find(uint64_t address, tlm::tlm_command command) const {
    // Most recent first: the region just granted is the one the next access wants.
    for (auto it = regions_.rbegin(); it != regions_.rend(); ++it) {
        if (address >= it->get_start_address() && address <= it->get_end_address() &&
            (command == tlm::TLM_READ_COMMAND ? it->is_read_allowed() : it->is_write_allowed())) {
            return &*it;
        }
    }
    return nullptr;
}

bool BusAccessor::access(tlm::tlm_fw_transport_if<>& bus, tlm::tlm_command command,
                         uint64_t address, uint8_t* data, size_t length, sc_core::sc_time& delay) {
    while (length > 0) {
        if (const tlm::tlm_dmi* region = find(address, command)) {
            remember(address, region);
            const uint64_t room = region->get_end_address() - address + 1;
            const size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, room));
            unsigned char* memory = region->get_dmi_ptr() + (address - region->get_start_address());
            if (command == tlm::TLM_READ_COMMAND) {
                std::memcpy(data, memory, chunk);
                delay += region->get_read_latency();
            } else {
                std::memcpy(memory, data, chunk);
                delay += region->get_write_latency();
            }
            ++counters_.dmi_accesses;
            counters_.bytes += chunk;
            address += chunk;
            data += chunk;
            length -= chunk;
            continue;
        }
        // No DMI here: the rest goes as one burst transaction, in a payload reused for
        // every access (constructing one allocates its extension array).
        tlm::tlm_generic_payload& trans = payload_;
        trans.set_command(command);
        trans.set_address(address);
        trans.set_data_ptr(data);
        trans.set_data_length(static_cast<unsigned int>(length));
        trans.set_streaming_width(static_cast<unsigned int>(length));
        trans.set_byte_enable_ptr(nullptr);
        trans.set_dmi_allowed(false);
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        bus.b_transport(trans, delay);
        ++counters_.transactions;
        if (trans.is_response_error()) {
            ++counters_.errors;
            return false;
        }
        counters_.bytes += length;
        if (trans.is_dmi_allowed()) {
            tlm::tlm_dmi region;
            trans.set_address(address);
            if (bus.get_direct_mem_ptr(trans, region)) {
                if (regions_.size() >= max_regions_) {
                    regions_.erase(regions_.begin());  // drop the oldest
                }
                regions_.push_back(region);
                forget_hints();  // indices moved
                ++counters_.dmi_grants;
            }
        }
        return true;
    }
    return true;
}

void BusAccessor::invalidate(uint64_t start, uint64_t end) {
    forget_hints();
    regions_.erase(std::remove_if(regions_.begin(), regions_.end(),
                                  [start, end](const tlm::tlm_dmi& region) {
                                      return region.get_start_address() <= end &&
                                             region.get_end_address() >= start;
                                  }),
                   regions_.end());
}

}  // namespace vbsim::models
