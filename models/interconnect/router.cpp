#include "models/interconnect/router.h"

#include <algorithm>
#include <sstream>

namespace vbsim::models {

namespace {

constexpr const char* kReportType = "vbsim/router";

std::string describe(const RouterRegion& region) {
    std::ostringstream text;
    text << "'" << region.name << "' [0x" << std::hex << region.base << ", 0x"
         << region.base + region.size << ")";
    return text.str();
}

}  // namespace

Router::Router(const sc_core::sc_module_name& name, const RouterParams& params)
    : sc_core::sc_module(name),
      target_socket("target_socket"),
      initiator_socket("initiator_socket"),
      params_(params),
      regions_(params.regions) {
    std::sort(regions_.begin(), regions_.end(),
              [](const RouterRegion& a, const RouterRegion& b) { return a.base < b.base; });
    for (size_t i = 0; i < regions_.size(); ++i) {
        const RouterRegion& region = regions_[i];
        if (region.size == 0) {
            SC_REPORT_ERROR(kReportType, ("region " + describe(region) + " has zero size").c_str());
        }
        if (region.base + region.size - 1 < region.base) {
            SC_REPORT_ERROR(kReportType,
                            ("region " + describe(region) + " wraps past 2^64").c_str());
        }
        if (i > 0 && regions_[i - 1].base + regions_[i - 1].size > region.base) {
            SC_REPORT_ERROR(kReportType, ("region " + describe(regions_[i - 1]) +
                                          " overlaps region " + describe(region))
                                             .c_str());
        }
    }
    counters_.resize(regions_.size());

    target_socket.register_b_transport(this, &Router::b_transport);
    target_socket.register_get_direct_mem_ptr(this, &Router::get_direct_mem_ptr);
    target_socket.register_transport_dbg(this, &Router::transport_dbg);
    initiator_socket.register_invalidate_direct_mem_ptr(this, &Router::invalidate_direct_mem_ptr);
}

void Router::end_of_elaboration() {
    for (const RouterRegion& region : regions_) {
        if (region.target_port >= initiator_socket.size()) {
            std::ostringstream text;
            text << "region " << describe(region) << " names target port " << region.target_port
                 << " but only " << initiator_socket.size() << " targets are bound";
            SC_REPORT_ERROR(kReportType, text.str().c_str());
        }
    }
}

const RouterRegionCounters& Router::counters(const std::string& region_name) const {
    for (size_t i = 0; i < regions_.size(); ++i) {
        if (regions_[i].name == region_name) {
            return counters_[i];
        }
    }
    SC_REPORT_ERROR(kReportType, ("no region named '" + region_name + "'").c_str());
    static const RouterRegionCounters none;
    return none;
}

int Router::decode(uint64_t address) const {
    // First region whose base is above the address; the candidate is the one before it.
    auto it = std::upper_bound(regions_.begin(), regions_.end(), address,
                               [](uint64_t a, const RouterRegion& r) { return a < r.base; });
    if (it == regions_.begin()) {
        return -1;
    }
    --it;
    if (address - it->base >= it->size) {
        return -1;
    }
    return static_cast<int>(it - regions_.begin());
}

void Router::b_transport(int /*initiator*/, tlm::tlm_generic_payload& trans,
                         sc_core::sc_time& delay) {
    const uint64_t address = trans.get_address();
    const int index = decode(address);
    if (index < 0) {
        ++unmapped_accesses_;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const RouterRegion& region = regions_[static_cast<size_t>(index)];
    RouterRegionCounters& counters = counters_[static_cast<size_t>(index)];

    delay += params_.hop_latency;
    const sc_core::sc_time before = delay;
    trans.set_address(address - region.base);
    initiator_socket[region.target_port]->b_transport(trans, delay);
    trans.set_address(address);  // the initiator owns the payload: give it back unchanged
    ++counters.transactions;
    counters.bytes += trans.get_data_length();
    if (delay > before) {
        counters.busy_time += delay - before;
    }
    if (trans.is_response_error()) {
        ++counters.errors;
    }
}

bool Router::get_direct_mem_ptr(int /*initiator*/, tlm::tlm_generic_payload& trans,
                                tlm::tlm_dmi& dmi) {
    const uint64_t address = trans.get_address();
    const int index = decode(address);
    if (index < 0) {
        dmi.allow_none();
        return false;
    }
    const RouterRegion& region = regions_[static_cast<size_t>(index)];
    trans.set_address(address - region.base);
    const bool granted = initiator_socket[region.target_port]->get_direct_mem_ptr(trans, dmi);
    trans.set_address(address);

    // Targets map the region at local address 0: clip the end to the window and
    // translate the range back to bus addresses.
    const uint64_t region_last = region.size - 1;
    uint64_t start = dmi.get_start_address();
    uint64_t end = std::min<uint64_t>(dmi.get_end_address(), region_last);
    if (start > end) {
        if (granted) {
            dmi.allow_none();
        }
        start = end = address - region.base;
    }
    dmi.set_start_address(region.base + start);
    dmi.set_end_address(region.base + end);
    dmi.set_read_latency(dmi.get_read_latency() + params_.hop_latency);
    dmi.set_write_latency(dmi.get_write_latency() + params_.hop_latency);
    if (granted && dmi.is_none_allowed()) {
        return false;
    }
    if (granted) {
        ++counters_[static_cast<size_t>(index)].dmi_grants;
    }
    return granted;
}

unsigned int Router::transport_dbg(int /*initiator*/, tlm::tlm_generic_payload& trans) {
    const uint64_t address = trans.get_address();
    const int index = decode(address);
    if (index < 0) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return 0;
    }
    const RouterRegion& region = regions_[static_cast<size_t>(index)];
    // A debug access must not run past its region into whatever is mapped next.
    const unsigned int length = trans.get_data_length();
    const uint64_t room = region.size - (address - region.base);
    if (length > room) {
        trans.set_data_length(static_cast<unsigned int>(room));
    }
    trans.set_address(address - region.base);
    const unsigned int done = initiator_socket[region.target_port]->transport_dbg(trans);
    trans.set_address(address);
    trans.set_data_length(length);
    ++counters_[static_cast<size_t>(index)].debug_transactions;
    return done;
}

void Router::invalidate_direct_mem_ptr(int target, sc_dt::uint64 start, sc_dt::uint64 end) {
    for (const RouterRegion& region : regions_) {
        if (region.target_port != static_cast<unsigned int>(target)) {
            continue;
        }
        const uint64_t region_last = region.size - 1;
        if (start > region_last) {
            continue;
        }
        const uint64_t global_start = region.base + start;
        const uint64_t global_end = region.base + std::min<uint64_t>(end, region_last);
        for (unsigned int i = 0; i < target_socket.size(); ++i) {
            target_socket[i]->invalidate_direct_mem_ptr(global_start, global_end);
        }
    }
}

}  // namespace vbsim::models
