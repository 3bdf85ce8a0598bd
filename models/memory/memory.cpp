#include "models/memory/memory.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

namespace vbsim::models {

namespace {

constexpr const char* kReportType = "vbsim/memory";

// Read-only DMI for untouched pages points here, so reading never allocates.
const std::vector<uint8_t>& zero_page(uint64_t size) {
    static std::vector<uint8_t> zeros;
    if (zeros.size() < size) {
        zeros.assign(size, 0);
    }
    return zeros;
}

}  // namespace

Memory::Memory(const sc_core::sc_module_name& name, const MemoryParams& params)
    : sc_core::sc_module(name),
      socket("socket"),
      params_(params),
      store_(params.size, params.backing_page_size) {
    if (params_.size == 0) {
        SC_REPORT_ERROR(kReportType, "memory size must not be zero");
    }
    if (params_.bandwidth_bytes_per_ns < 0.0) {
        SC_REPORT_ERROR(kReportType, "memory bandwidth must not be negative");
    }
    zero_page(params_.backing_page_size);
    socket.register_b_transport(this, &Memory::b_transport);
    socket.register_get_direct_mem_ptr(this, &Memory::get_direct_mem_ptr);
    socket.register_transport_dbg(this, &Memory::transport_dbg);
}

sc_core::sc_time Memory::transfer_time(uint64_t bytes) const {
    if (params_.bandwidth_bytes_per_ns <= 0.0) {
        return sc_core::SC_ZERO_TIME;
    }
    return sc_core::sc_time(static_cast<double>(bytes) / params_.bandwidth_bytes_per_ns,
                            sc_core::SC_NS);
}

bool Memory::validate(tlm::tlm_generic_payload& trans) const {
    const uint64_t address = trans.get_address();
    const uint64_t length = trans.get_data_length();
    const uint64_t streaming_width = trans.get_streaming_width();
    const tlm::tlm_command command = trans.get_command();

    if (command != tlm::TLM_READ_COMMAND && command != tlm::TLM_WRITE_COMMAND &&
        command != tlm::TLM_IGNORE_COMMAND) {
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return false;
    }
    if (command == tlm::TLM_WRITE_COMMAND && params_.read_only) {
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return false;
    }
    if (length == 0 || streaming_width == 0 || trans.get_data_ptr() == nullptr) {
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return false;
    }
    // A streaming burst touches only its first `streaming_width` bytes of address space.
    const uint64_t span = std::min(length, streaming_width);
    if (address >= params_.size || span > params_.size - address) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return false;
    }
    const unsigned char* enables = trans.get_byte_enable_ptr();
    if (enables != nullptr) {
        const unsigned int enable_length = trans.get_byte_enable_length();
        if (enable_length == 0) {
            trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
            return false;
        }
        for (unsigned int i = 0; i < enable_length; ++i) {
            if (enables[i] != TLM_BYTE_ENABLED && enables[i] != TLM_BYTE_DISABLED) {
                trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
                return false;
            }
        }
    }
    return true;
}

void Memory::revoke_zero_grants(uint64_t address, uint64_t length) {
    if (zero_granted_pages_.empty()) {
        return;
    }
    const uint64_t page_size = params_.backing_page_size;
    for (uint64_t page = address / page_size; page <= (address + length - 1) / page_size; ++page) {
        if (zero_granted_pages_.erase(page) > 0) {
            invalidate_dmi(page * page_size, page * page_size + page_size - 1);
        }
    }
}

void Memory::access(tlm::tlm_generic_payload& trans) {
    const tlm::tlm_command command = trans.get_command();
    if (command == tlm::TLM_IGNORE_COMMAND) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    const uint64_t address = trans.get_address();
    const uint64_t length = trans.get_data_length();
    const uint64_t streaming_width = trans.get_streaming_width();
    const unsigned char* enables = trans.get_byte_enable_ptr();
    unsigned char* data = trans.get_data_ptr();
    const bool is_write = command == tlm::TLM_WRITE_COMMAND;

    if (is_write) {
        revoke_zero_grants(address, std::min(length, streaming_width));
    }
    if (enables == nullptr && streaming_width >= length) {
        if (is_write) {
            store_.write(address, data, length);
        } else {
            store_.read(address, data, length);
        }
    } else {
        // General case: byte enables repeat every byte_enable_length bytes and a
        // streaming burst wraps its address every streaming_width bytes.
        const unsigned int enable_length = trans.get_byte_enable_length();
        for (uint64_t i = 0; i < length; ++i) {
            if (enables != nullptr && enables[i % enable_length] == TLM_BYTE_DISABLED) {
                continue;
            }
            const uint64_t byte_address = address + (i % streaming_width);
            if (is_write) {
                store_.write(byte_address, data + i, 1);
            } else {
                store_.read(byte_address, data + i, 1);
            }
        }
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Memory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    if (!validate(trans)) {
        ++counters_.errors;
        return;
    }
    access(trans);
    const uint64_t length = trans.get_data_length();
    if (trans.is_write()) {
        ++counters_.writes;
        counters_.bytes_written += length;
        delay += params_.write_latency + transfer_time(length);
    } else if (trans.is_read()) {
        ++counters_.reads;
        counters_.bytes_read += length;
        delay += params_.read_latency + transfer_time(length);
    }
    trans.set_dmi_allowed(params_.dmi_enabled);
}

bool Memory::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    const uint64_t address = trans.get_address();
    const uint64_t page_size = params_.backing_page_size;
    if (!params_.dmi_enabled || address >= params_.size) {
        // Tell the initiator the whole memory is off limits for DMI, so it stops asking.
        dmi.set_start_address(0);
        dmi.set_end_address(address >= params_.size ? std::numeric_limits<uint64_t>::max()
                                                    : params_.size - 1);
        dmi.allow_none();
        return false;
    }
    const uint64_t page = address / page_size;
    const uint64_t start = page * page_size;
    const uint64_t end = std::min(start + page_size, params_.size) - 1;
    dmi.set_start_address(start);
    dmi.set_end_address(end);
    dmi.set_read_latency(params_.read_latency);
    dmi.set_write_latency(params_.write_latency);

    const uint8_t* existing = store_.find_page(page);
    if (existing == nullptr && trans.is_read()) {
        // Reading an untouched page must not allocate it: hand out the shared zero page
        // read-only and revoke it once the page is written.
        dmi.set_dmi_ptr(const_cast<unsigned char*>(zero_page(page_size).data()));
        dmi.allow_read();
        zero_granted_pages_.insert(page);
    } else if (params_.read_only) {
        dmi.set_dmi_ptr(store_.materialize_page(page));
        dmi.allow_read();
    } else {
        revoke_zero_grants(start, end - start + 1);
        dmi.set_dmi_ptr(store_.materialize_page(page));
        dmi.allow_read_write();
    }
    ++counters_.dmi_grants;
    dmi_granted_ = true;
    return true;
}

unsigned int Memory::transport_dbg(tlm::tlm_generic_payload& trans) {
    if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {
        return 0;
    }
    const uint64_t address = trans.get_address();
    if (address >= params_.size || trans.get_data_ptr() == nullptr) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return 0;
    }
    // Debug accesses are clipped to the memory rather than refused.
    const uint64_t length = std::min<uint64_t>(trans.get_data_length(), params_.size - address);
    if (trans.is_write()) {
        if (params_.read_only) {
            trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
            return 0;
        }
        revoke_zero_grants(address, length);
        store_.write(address, trans.get_data_ptr(), length);
    } else {
        store_.read(address, trans.get_data_ptr(), length);
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return static_cast<unsigned int>(length);
}

void Memory::invalidate_dmi(uint64_t start, uint64_t end) {
    ++counters_.dmi_invalidations;
    socket->invalidate_direct_mem_ptr(start, end);
}

void Memory::set_dmi_enabled(bool enabled) {
    if (params_.dmi_enabled && !enabled && dmi_granted_) {
        zero_granted_pages_.clear();
        invalidate_dmi(0, params_.size - 1);
        dmi_granted_ = false;
    }
    params_.dmi_enabled = enabled;
}

}  // namespace vbsim::models
