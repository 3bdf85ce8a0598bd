#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

namespace vbsim::test {

// A bus master for tests: issues single transactions from outside any process
// (after elaboration) and records the DMI invalidations it receives.
class TestInitiator : public sc_core::sc_module {
  public:
    struct Outcome {
        tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        bool dmi_allowed = false;
    };

    tlm_utils::simple_initiator_socket<TestInitiator> socket;
    std::vector<std::pair<uint64_t, uint64_t>> invalidations;

    explicit TestInitiator(const sc_core::sc_module_name& name)
        : sc_core::sc_module(name), socket("socket") {
        socket.register_invalidate_direct_mem_ptr(this, &TestInitiator::invalidate);
    }

    Outcome transport(tlm::tlm_command command, uint64_t address, void* data, unsigned int length,
                      const unsigned char* byte_enables = nullptr,
                      unsigned int byte_enable_length = 0, unsigned int streaming_width = 0) {
        tlm::tlm_generic_payload trans;
        trans.set_command(command);
        trans.set_address(address);
        trans.set_data_ptr(static_cast<unsigned char*>(data));
        trans.set_data_length(length);
        trans.set_streaming_width(streaming_width == 0 ? length : streaming_width);
        trans.set_byte_enable_ptr(const_cast<unsigned char*>(byte_enables));
        trans.set_byte_enable_length(byte_enable_length);
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        Outcome outcome;
        socket->b_transport(trans, outcome.delay);
        outcome.status = trans.get_response_status();
        outcome.dmi_allowed = trans.is_dmi_allowed();
        last_address_seen = trans.get_address();
        return outcome;
    }

    Outcome write(uint64_t address, const void* data, unsigned int length) {
        return transport(tlm::TLM_WRITE_COMMAND, address, const_cast<void*>(data), length);
    }
    Outcome read(uint64_t address, void* data, unsigned int length) {
        return transport(tlm::TLM_READ_COMMAND, address, data, length);
    }

    Outcome write32(uint64_t address, uint32_t value) { return write(address, &value, 4); }
    uint32_t read32(uint64_t address, tlm::tlm_response_status* status = nullptr) {
        uint32_t value = 0xdeadbeef;
        const Outcome outcome = read(address, &value, 4);
        if (status != nullptr) {
            *status = outcome.status;
        }
        return value;
    }

    bool dmi(tlm::tlm_command command, uint64_t address, tlm::tlm_dmi& dmi_data) {
        tlm::tlm_generic_payload trans;
        trans.set_command(command);
        trans.set_address(address);
        return socket->get_direct_mem_ptr(trans, dmi_data);
    }

    unsigned int debug(tlm::tlm_command command, uint64_t address, void* data,
                       unsigned int length) {
        tlm::tlm_generic_payload trans;
        trans.set_command(command);
        trans.set_address(address);
        trans.set_data_ptr(static_cast<unsigned char*>(data));
        trans.set_data_length(length);
        return socket->transport_dbg(trans);
    }

    uint64_t last_address_seen = 0;

  private:
    void invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
        invalidations.emplace_back(start, end);
    }
};

}  // namespace vbsim::test
