// A stand-in for a larger virtual platform that loads vbsim as a plugin: its own CPU doing raw
// register accesses, its own 64-bit bus, its own RAM in two banks that never grants DMI, and
// two balloons placed and configured from its own file. It knows the plugin only through the
// plain-C ABI (vbsim_plugin.h) and dlopen(); nothing of vbsim's C++ headers.
//
//   plugin_host <libvbsim-plugin.so> <host.cfg>
// Exit status 0 when every check passed.

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include <vbsim/plugin/vbsim_plugin.h>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "plugin-host: FAILED: %s\n", what.c_str());
    }
}

constexpr uint64_t kBank1 = 0x80000000;
constexpr uint64_t kBank2 = 0x100000000;
constexpr uint64_t kBankBytes = 16 << 20;

// RAM of the host's own: plain b_transport, never DMI.
struct HostRam : sc_core::sc_module {
    tlm_utils::simple_target_socket<HostRam, 64> socket{"socket"};
    std::vector<uint8_t> bytes;

    HostRam(const sc_core::sc_module_name& name, uint64_t size)
        : sc_core::sc_module(name), bytes(size, 0) {
        socket.register_b_transport(this, &HostRam::b_transport);
        socket.register_transport_dbg(this, &HostRam::transport_dbg);
    }
    bool in_range(const tlm::tlm_generic_payload& trans) const {
        return trans.get_byte_enable_ptr() == nullptr &&
               trans.get_streaming_width() == trans.get_data_length() &&
               trans.get_address() + trans.get_data_length() <= bytes.size();
    }
    void copy(tlm::tlm_generic_payload& trans) {
        uint8_t* at = &bytes[trans.get_address()];
        if (trans.is_read()) {
            std::memcpy(trans.get_data_ptr(), at, trans.get_data_length());
        } else {
            std::memcpy(at, trans.get_data_ptr(), trans.get_data_length());
        }
    }
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
        if (!in_range(trans)) {
            trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        copy(trans);
        delay += sc_core::sc_time(15, sc_core::SC_NS);
        trans.set_dmi_allowed(false);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans) {
        if (!in_range(trans)) {
            return 0;
        }
        copy(trans);
        return trans.get_data_length();
    }
};

// The host's own 64-bit bus: address windows to initiator-socket ports, target-local addresses.
struct HostBus : sc_core::sc_module {
    tlm_utils::multi_passthrough_target_socket<HostBus, 64> target_socket{"target_socket"};
    tlm_utils::multi_passthrough_initiator_socket<HostBus, 64> initiator_socket{"initiator_socket"};
    struct Window {
        uint64_t base;
        uint64_t size;
        int port;
    };
    std::vector<Window> windows;

    explicit HostBus(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        target_socket.register_b_transport(this, &HostBus::b_transport);
        target_socket.register_transport_dbg(this, &HostBus::transport_dbg);
    }
    const Window* decode(uint64_t address) const {
        for (const Window& window : windows) {
            if (address >= window.base && address - window.base < window.size) {
                return &window;
            }
        }
        return nullptr;
    }
    void b_transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
        const uint64_t address = trans.get_address();
        const Window* window = decode(address);
        if (window == nullptr) {
            trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        trans.set_address(address - window->base);
        initiator_socket[window->port]->b_transport(trans, delay);
        trans.set_address(address);
    }
    unsigned int transport_dbg(int, tlm::tlm_generic_payload& trans) {
        const uint64_t address = trans.get_address();
        const Window* window = decode(address);
        if (window == nullptr) {
            return 0;
        }
        trans.set_address(address - window->base);
        const unsigned int done = initiator_socket[window->port]->transport_dbg(trans);
        trans.set_address(address);
        return done;
    }
};

// The host's CPU: raw 32-bit register accesses and plain memory writes, over its bus.
struct HostCpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<HostCpu, 64> socket{"socket"};
    std::function<void()> program;

    explicit HostCpu(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        SC_HAS_PROCESS(HostCpu);
        SC_THREAD(run);
    }
    void run() { program(); }
    void access(tlm::tlm_command command, uint64_t address, void* data, unsigned int length) {
        tlm::tlm_generic_payload trans;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        trans.set_command(command);
        trans.set_address(address);
        trans.set_data_ptr(static_cast<unsigned char*>(data));
        trans.set_data_length(length);
        trans.set_streaming_width(length);
        socket->b_transport(trans, delay);
        check(trans.is_response_ok(), "access to 0x" + std::to_string(address));
        wait(delay);
    }
    uint32_t read32(uint64_t address) {
        uint32_t value = 0;
        access(tlm::TLM_READ_COMMAND, address, &value, 4);
        return value;
    }
    void write32(uint64_t address, uint32_t value) {
        access(tlm::TLM_WRITE_COMMAND, address, &value, 4);
    }
    template <typename T>
    void store(uint64_t address, T value) {
        access(tlm::TLM_WRITE_COMMAND, address, &value, sizeof value);
    }
    template <typename T>
    T load(uint64_t address) {
        T value{};
        access(tlm::TLM_READ_COMMAND, address, &value, sizeof value);
        return value;
    }
};

// The ABI passes SystemC objects as void* holding an sc_object* (not the derived pointer: a
// socket's sc_object base is not at its start).
void* as_object(sc_core::sc_object& object) {
    return &object;
}

// instance -> key -> value, from "instance.key = value" lines.
std::map<std::string, std::map<std::string, std::string>> read_config(const char* path) {
    std::map<std::string, std::map<std::string, std::string>> config;
    std::ifstream in(path);
    check(in.good(), std::string("cannot read ") + path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const size_t dot = line.find('.');
        const size_t equals = line.find('=');
        if (dot == std::string::npos || equals == std::string::npos || dot > equals) {
            check(false, "bad config line: " + line);
            continue;
        }
        auto trim = [](std::string text) {
            text.erase(0, text.find_first_not_of(' '));
            text.erase(text.find_last_not_of(' ') + 1);
            return text;
        };
        config[line.substr(0, dot)][trim(line.substr(dot + 1, equals - dot - 1))] =
            trim(line.substr(equals + 1));
    }
    return config;
}

// Virtio-mmio register offsets and status bits (virtio 1.2, 4.2.2), as a host driver knows them.
constexpr uint64_t kMagicValue = 0x000, kVersion = 0x004, kDeviceId = 0x008,
                   kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020,
                   kDriverFeaturesSel = 0x024, kQueueSel = 0x030, kQueueNumMax = 0x034,
                   kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                   kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070,
                   kQueueDescLow = 0x080, kQueueDescHigh = 0x084, kQueueDriverLow = 0x090,
                   kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8;

struct Balloon {
    std::string name;
    uint64_t base = 0;
    vbsim_module* module = nullptr;
    std::unique_ptr<sc_core::sc_signal<bool>> irq;
    uint64_t rings = 0;  // inflateq's rings in the host's RAM
    std::vector<uint32_t> pfns;
    uint32_t features_low = 0;  // as the CPU read them
    uint32_t queue_num_max = 0;
};

// virtio-mmio init (modern), inflateq only, then one buffer of `pfns`.
void init_and_inflate(HostCpu& cpu, Balloon& balloon) {
    const uint64_t reg = balloon.base;
    check(cpu.read32(reg + kMagicValue) == 0x74726976, balloon.name + ": magic");
    check(cpu.read32(reg + kVersion) == 2, balloon.name + ": version 2");
    check(cpu.read32(reg + kDeviceId) == 5, balloon.name + ": device id 5 (balloon)");
    cpu.write32(reg + kStatus, 0);
    cpu.write32(reg + kStatus, kAck);
    cpu.write32(reg + kStatus, kAck | kDriver);
    cpu.write32(reg + kDeviceFeaturesSel, 0);
    const uint32_t low = cpu.read32(reg + kDeviceFeatures);
    balloon.features_low = low;
    cpu.write32(reg + kDeviceFeaturesSel, 1);
    const uint32_t high = cpu.read32(reg + kDeviceFeatures);
    check((high & 1) != 0, balloon.name + ": VERSION_1 offered");
    cpu.write32(reg + kDriverFeaturesSel, 0);
    cpu.write32(reg + kDriverFeatures, low & 1);  // MUST_TELL_HOST if offered
    cpu.write32(reg + kDriverFeaturesSel, 1);
    cpu.write32(reg + kDriverFeatures, 1);  // VERSION_1
    cpu.write32(reg + kStatus, kAck | kDriver | kFeaturesOk);
    check((cpu.read32(reg + kStatus) & kFeaturesOk) != 0, balloon.name + ": FEATURES_OK kept");

    constexpr uint32_t kSize = 16;
    const uint64_t desc = balloon.rings, avail = desc + 0x1000, used = desc + 0x2000;
    const uint64_t buffer = desc + 0x3000;
    for (uint64_t at = desc; at < desc + 0x3000; at += 8) {
        cpu.store<uint64_t>(at, 0);
    }
    cpu.write32(reg + kQueueSel, 0);
    balloon.queue_num_max = cpu.read32(reg + kQueueNumMax);
    check(balloon.queue_num_max >= kSize, balloon.name + ": QueueNumMax");
    cpu.write32(reg + kQueueNum, kSize);
    cpu.write32(reg + kQueueDescLow, static_cast<uint32_t>(desc));
    cpu.write32(reg + kQueueDescHigh, static_cast<uint32_t>(desc >> 32));
    cpu.write32(reg + kQueueDriverLow, static_cast<uint32_t>(avail));
    cpu.write32(reg + kQueueDriverHigh, static_cast<uint32_t>(avail >> 32));
    cpu.write32(reg + kQueueDeviceLow, static_cast<uint32_t>(used));
    cpu.write32(reg + kQueueDeviceHigh, static_cast<uint32_t>(used >> 32));
    cpu.write32(reg + kQueueReady, 1);
    cpu.write32(reg + kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);

    for (size_t i = 0; i < balloon.pfns.size(); ++i) {
        cpu.store<uint32_t>(buffer + 4 * i, balloon.pfns[i]);
    }
    cpu.store<uint64_t>(desc, buffer);
    cpu.store<uint32_t>(desc + 8, static_cast<uint32_t>(4 * balloon.pfns.size()));
    cpu.store<uint16_t>(desc + 12, 0);  // flags: device-readable, last
    cpu.store<uint16_t>(avail + 4, 0);  // ring[0] = descriptor 0
    cpu.store<uint16_t>(avail + 2, 1);  // idx
    cpu.write32(reg + kQueueNotify, 0);

    // The used buffer comes with the interrupt: wait for the line, acknowledge, check.
    if (!balloon.irq->read()) {
        sc_core::wait(sc_core::sc_time(10, sc_core::SC_MS), balloon.irq->posedge_event());
    }
    check(balloon.irq->read(), balloon.name + ": interrupt line high");
    const uint32_t cause = cpu.read32(reg + kInterruptStatus);
    check(cause == 1,
          balloon.name + ": InterruptStatus = used buffer, got " + std::to_string(cause));
    cpu.write32(reg + kInterruptAck, cause);
    check(cpu.load<uint16_t>(used + 2) == 1, balloon.name + ": used idx 1");
    check(cpu.load<uint32_t>(used + 4) == 0, balloon.name + ": used id = descriptor 0");
}

}  // namespace

int sc_main(int argc, char* argv[]) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: plugin_host <libvbsim-plugin.so> <host.cfg>\n");
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        std::fprintf(stderr, "plugin-host: %s\n", dlerror());
        return 2;
    }
    auto get_api = reinterpret_cast<vbsim_plugin_get_api_fn>(dlsym(library, VBSIM_PLUGIN_ENTRY));
    check(get_api != nullptr && get_api(VBSIM_PLUGIN_ABI_VERSION + 1) == nullptr,
          "an ABI version the plugin does not serve is refused");
    const vbsim_plugin_api* api = get_api != nullptr ? get_api(VBSIM_PLUGIN_ABI_VERSION) : nullptr;
    if (api == nullptr) {
        std::fprintf(stderr, "plugin-host: no %s for ABI %u\n", VBSIM_PLUGIN_ENTRY,
                     VBSIM_PLUGIN_ABI_VERSION);
        return 2;
    }
    std::printf("plugin-host: vbsim %s, ABI %u, types:", api->vbsim_version, api->abi_version);
    for (const char* const* type = api->module_types; *type != nullptr; ++type) {
        std::printf(" %s", *type);
    }
    std::printf("\n");
    check(api->parameters("virtio_balloon_mmio") != nullptr &&
              std::strstr(api->parameters("virtio_balloon_mmio"), "device.guest_ram = ") != nullptr,
          "the balloon lists device.guest_ram among its parameters");

    HostCpu cpu("cpu");
    HostBus bus("bus");
    HostRam bank1("bank1", kBankBytes);
    HostRam bank2("bank2", kBankBytes);
    cpu.socket.bind(bus.target_socket);
    bus.initiator_socket.bind(bank1.socket);
    bus.initiator_socket.bind(bank2.socket);
    bus.windows.push_back({kBank1, kBankBytes, 0});
    bus.windows.push_back({kBank2, kBankBytes, 1});

    char error[256];
    // The failing side first: a misspelt parameter, and a width that does not fit the bus.
    const vbsim_parameter typo = {"device.guest_rma", "0x80000000 16MiB"};
    const vbsim_module* refused =
        api->create("virtio_balloon_mmio", "typo", &typo, 1, error, sizeof error);
    check(refused == nullptr &&
              std::strstr(error,
                          "device.guest_rma: no parameter named 'typo.device.guest_rma' (did you "
                          "mean 'typo.device.guest_ram'?)") != nullptr,
          std::string("a misspelt parameter is refused by name: ") + error);
    const vbsim_parameter odd_width = {"bus_width", "48"};
    refused = api->create("virtio_balloon_mmio", "odd", &odd_width, 1, error, sizeof error);
    check(
        refused == nullptr && std::strstr(error, "bus_width: expected 32 or 64, got 48") != nullptr,
        std::string("a bus width other than 32 or 64 is refused: ") + error);

    std::vector<Balloon> balloons;
    int port = 2;
    for (const auto& [name, settings] : read_config(argv[2])) {
        Balloon balloon;
        balloon.name = name;
        std::vector<vbsim_parameter> parameters;
        std::string type;
        for (const auto& [key, value] : settings) {
            if (key == "type") {
                type = value;
            } else if (key == "address") {
                balloon.base = std::stoull(value, nullptr, 0);
            } else {
                parameters.push_back({key.c_str(), value.c_str()});
            }
        }
        balloon.module = api->create(type.c_str(), name.c_str(), parameters.data(),
                                     parameters.size(), error, sizeof error);
        if (balloon.module == nullptr) {
            std::fprintf(stderr, "plugin-host: %s: %s\n", name.c_str(), error);
            return 2;
        }
        // Registers: the host binds its own bus socket to the plugin's target socket itself.
        auto* registers = dynamic_cast<tlm::tlm_base_target_socket_b<64>*>(
            static_cast<sc_core::sc_object*>(api->port(balloon.module, "target_socket")));
        check(registers != nullptr, name + ": target_socket is a 64-bit target socket");
        bus.initiator_socket.bind(*registers);
        bus.windows.push_back({balloon.base, 0x200, port++});
        // DMA and interrupt: bound by the plugin, by name.
        balloon.irq = std::make_unique<sc_core::sc_signal<bool>>((name + "_irq").c_str());
        check(api->bind(balloon.module, "dma_socket", as_object(*balloon.irq), error,
                        sizeof error) == -1 &&
                  std::strstr(error, "expected a TLM target socket of 64 bits") != nullptr,
              name + ": dma_socket refuses a signal: " + error);
        check(api->bind(balloon.module, "dma_socket", as_object(bus.target_socket), error,
                        sizeof error) == 0,
              name + ": dma_socket binds: " + error);
        check(api->bind(balloon.module, "irq", as_object(*balloon.irq), error, sizeof error) == 0,
              name + ": irq binds: " + error);
        balloons.push_back(std::move(balloon));
    }
    check(balloons.size() == 2, "two balloons configured");
    if (balloons.size() != 2) {
        return 1;
    }
    // balloon0: pages from both banks; balloon1: bank 2, bank 1, and one PFN in neither.
    balloons[0].rings = kBank1 + 0x10000;
    balloons[0].pfns = {0x80100, 0x80101, 0x100020};
    balloons[1].rings = kBank1 + 0x20000;
    balloons[1].pfns = {0x100030, 0x80200, 0x90000};

    cpu.program = [&] {
        for (Balloon& balloon : balloons) {
            init_and_inflate(cpu, balloon);
        }
    };
    sc_core::sc_start(sc_core::sc_time(100, sc_core::SC_MS));

    for (Balloon& balloon : balloons) {
        uint64_t held = 0;
        uint64_t out_of_range = 0;
        check(api->balloon_pages_held(balloon.module, &held) == 0, "pages held");
        api->counter(balloon.module, "pfns_out_of_range", &out_of_range);
        std::printf("plugin-host: %s at 0x%llx holds %llu pages:", balloon.name.c_str(),
                    static_cast<unsigned long long>(balloon.base),
                    static_cast<unsigned long long>(held));
        for (uint32_t pfn : balloon.pfns) {
            int is_held = -1;
            api->balloon_is_page_held(balloon.module, pfn, &is_held);
            std::printf(" 0x%x=%s", pfn, is_held == 1 ? "held" : "not-held");
        }
        std::printf("; %llu PFN(s) outside RAM\n", static_cast<unsigned long long>(out_of_range));
    }
    uint64_t held0 = 0, held1 = 0, bad1 = 0, errors1 = 0;
    int held = 0;
    api->balloon_pages_held(balloons[0].module, &held0);
    api->balloon_pages_held(balloons[1].module, &held1);
    api->counter(balloons[1].module, "pfns_out_of_range", &bad1);
    api->counter(balloons[1].module, "guest_errors", &errors1);
    check(held0 == 3, "balloon0 holds 3 pages");
    check(held1 == 2, "balloon1 holds 2 pages");
    check(bad1 == 1 && errors1 == 1, "balloon1: one PFN outside RAM, one guest error");
    check(api->balloon_is_page_held(balloons[0].module, 0x100020, &held) == 0 && held == 1,
          "balloon0 holds the bank-2 page 0x100020");
    check(api->balloon_is_page_held(balloons[1].module, 0x80101, &held) == 0 && held == 0,
          "balloon1 does not hold balloon0's page");
    // The parameters the host's file gave by name reached the devices.
    // Device-type feature bits are 0..23; the transport adds ring bits above.
    for (const Balloon& balloon : balloons) {
        std::printf("plugin-host: %s offers device features 0x%x, QueueNumMax %u\n",
                    balloon.name.c_str(), balloon.features_low & 0xffffff, balloon.queue_num_max);
    }
    check((balloons[0].features_low & 0xffffff) == 0x7 && balloons[0].queue_num_max == 128,
          "balloon0: default features 0x7 and QueueNumMax 128");
    check((balloons[1].features_low & 0xffffff) == 0x1 && balloons[1].queue_num_max == 64,
          "balloon1: device.offered_features = 1 and device.queue_num_max = 64 applied");
    uint64_t unknown = 0;
    check(api->counter(balloons[0].module, "no_such_counter", &unknown) == -1,
          "an unknown counter is refused");

    for (Balloon& balloon : balloons) {
        api->destroy(balloon.module);
    }
    std::printf("plugin-host: %s\n", failures == 0 ? "all checks passed" : "FAILED");
    return failures == 0 ? 0 : 1;
}
