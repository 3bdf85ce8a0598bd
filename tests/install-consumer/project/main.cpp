// A stand-in for a larger virtual platform that uses vbsim's installed models.
#include <cstdio>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "models/interconnect/router.h"
#include "models/memory/memory.h"

struct Cpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Cpu> socket{"socket"};
    uint32_t seen = 0;

    explicit Cpu(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        SC_HAS_PROCESS(Cpu);
        SC_THREAD(run);
    }

    void access(tlm::tlm_command command, uint32_t& value) {
        tlm::tlm_generic_payload trans;
        sc_core::sc_time delay;
        trans.set_command(command);
        trans.set_address(0x40000010);
        trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
        trans.set_data_length(4);
        trans.set_streaming_width(4);
        socket->b_transport(trans, delay);
        wait(delay);
    }

    void run() {
        uint32_t value = 0xfeedc0de;
        access(tlm::TLM_WRITE_COMMAND, value);
        access(tlm::TLM_READ_COMMAND, seen);
    }
};

int sc_main(int, char*[]) {
    vbsim::models::MemoryParams ram_params;
    ram_params.size = uint64_t{1} << 40;
    vbsim::models::RouterParams bus_params;
    bus_params.regions.push_back({"ram", 0x40000000, ram_params.size, 0});

    Cpu cpu("cpu");
    vbsim::models::Router bus("bus", bus_params);
    vbsim::models::Memory ram("ram", ram_params);
    cpu.socket.bind(bus.target_socket);
    bus.initiator_socket.bind(ram.socket);
    sc_core::sc_start();

    std::printf("consumer: ram holds 0x%08x after %s\n", cpu.seen,
                sc_core::sc_time_stamp().to_string().c_str());
    return cpu.seen == 0xfeedc0de ? 0 : 1;
}
