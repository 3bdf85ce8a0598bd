// A stand-in for a larger virtual platform that uses vbsim's installed models, spelled the way
// an installed library is: <vbsim/models/...>. Its CPU has a 64-bit socket; the balloon binds to
// it without an adapter.
#include <cstdio>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include <vbsim/models/balloon/virtio_balloon_mmio.h>
#include <vbsim/models/interconnect/router.h>
#include <vbsim/models/memory/memory.h>

struct Cpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Cpu> socket{"socket"};               // 32 bits: Router
    tlm_utils::simple_initiator_socket<Cpu, 64> balloon_socket{"balloon"};  // 64 bits
    uint32_t seen = 0;
    uint32_t magic = 0;

    explicit Cpu(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        SC_HAS_PROCESS(Cpu);
        SC_THREAD(run);
    }

    template <typename Socket>
    void access(Socket& to, tlm::tlm_command command, uint64_t address, uint32_t& value) {
        tlm::tlm_generic_payload trans;
        sc_core::sc_time delay;
        trans.set_command(command);
        trans.set_address(address);
        trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
        trans.set_data_length(4);
        trans.set_streaming_width(4);
        to->b_transport(trans, delay);
        wait(delay);
    }

    void run() {
        uint32_t value = 0xfeedc0de;
        access(socket, tlm::TLM_WRITE_COMMAND, 0x40000010, value);
        access(socket, tlm::TLM_READ_COMMAND, 0x40000010, seen);
        access(balloon_socket, tlm::TLM_READ_COMMAND, 0, magic);
    }
};

struct NoRam : sc_core::sc_module {
    tlm_utils::simple_target_socket<NoRam, 64> socket{"socket"};
    explicit NoRam(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        socket.register_b_transport(this, &NoRam::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time&) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
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
    vbsim::models::VirtioBalloonMmio<> balloon("balloon", vbsim::models::VirtioBalloonMmioParams{});
    NoRam dma_sink("dma_sink");
    cpu.socket.bind(bus.target_socket);
    bus.initiator_socket.bind(ram.socket);
    cpu.balloon_socket.bind(balloon.target_socket);
    balloon.dma_socket.bind(dma_sink.socket);
    sc_core::sc_start();

    std::printf("consumer: ram holds 0x%08x after %s, balloon magic 0x%08x\n", cpu.seen,
                sc_core::sc_time_stamp().to_string().c_str(), cpu.magic);
    return cpu.seen == 0xfeedc0de && cpu.magic == 0x74726976 ? 0 : 1;
}
