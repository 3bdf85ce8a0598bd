// Feeds random register accesses, random guest-memory contents and random host
// requests to a legacy and a modern virtio-mmio balloon. The simulator must never
// crash, hang, read outside guest RAM or break its own invariants, whatever the
// "driver" does. One SystemC elaboration serves every input (the kernel cannot be
// re-elaborated); each input starts from a device reset and zeroed rings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <systemc>

#include "models/balloon/balloon_device.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "models/virtio/virtio_mmio.h"
#include "spec/virtio.h"
#include "tests/support/test_initiator.h"

namespace {

using namespace vbsim;

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 4 << 20;
constexpr uint64_t kScratch = 512 << 10;  // rings and buffers the fuzzer scribbles on
constexpr uint64_t kMmioBase[2] = {0x10001000, 0x10002000};

// Reads the input front to back; past the end everything reads as zero.
class Input {
  public:
    Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool done() const { return offset_ >= size_; }
    uint8_t u8() { return offset_ < size_ ? data_[offset_++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
    uint32_t u32() { return u16() | (uint32_t{u16()} << 16); }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t offset_ = 0;
};

struct Platform {
    Platform()
        : cpu("cpu"),
          bus("bus", bus_params()),
          ram("ram", ram_params()),
          legacy_balloon("legacy_balloon", balloon_params()),
          modern_balloon("modern_balloon", balloon_params()),
          legacy("legacy", mmio_params(1), legacy_balloon),
          modern("modern", mmio_params(2), modern_balloon) {
        cpu.socket.bind(bus.target_socket);
        legacy.dma_socket.bind(bus.target_socket);
        modern.dma_socket.bind(bus.target_socket);
        bus.initiator_socket.bind(ram.socket);
        bus.initiator_socket.bind(legacy.target_socket);
        bus.initiator_socket.bind(modern.target_socket);
        legacy.irq.bind(legacy_irq);
        modern.irq.bind(modern_irq);
    }

    static models::RouterParams bus_params() {
        models::RouterParams params;
        params.regions.push_back({"ram", kRamBase, kRamSize, 0});
        params.regions.push_back({"legacy", kMmioBase[0], spec::mmio::kWindowSize, 1});
        params.regions.push_back({"modern", kMmioBase[1], spec::mmio::kWindowSize, 2});
        return params;
    }
    static models::MemoryParams ram_params() {
        models::MemoryParams params;
        params.size = kRamSize;
        return params;
    }
    static models::BalloonDeviceParams balloon_params() {
        models::BalloonDeviceParams params;
        params.guest_ram_base = kRamBase;
        params.guest_ram_bytes = kRamSize;
        params.stats_poll_interval = sc_core::sc_time(20, sc_core::SC_US);
        return params;
    }
    static models::VirtioMmioParams mmio_params(uint32_t version) {
        models::VirtioMmioParams params;
        params.version = version;
        return params;
    }

    test::TestInitiator cpu;
    models::Router bus;
    models::Memory ram;
    models::BalloonDevice legacy_balloon;
    models::BalloonDevice modern_balloon;
    models::VirtioMmio legacy;
    models::VirtioMmio modern;
    sc_core::sc_signal<bool> legacy_irq;
    sc_core::sc_signal<bool> modern_irq;
};

Platform& platform() {
    static Platform* instance = [] {
        sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DO_NOTHING);
        auto* created = new Platform();
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
        return created;
    }();
    return *instance;
}

// A well-formed bring-up, so random ring contents reach the queue code.
void bring_up(test::TestInitiator& cpu, uint64_t base, bool modern, uint16_t queue_size) {
    namespace reg = spec::mmio;
    auto write = [&](uint32_t offset, uint32_t value) { cpu.write32(base + offset, value); };
    write(reg::kStatus, spec::status::kAcknowledge | spec::status::kDriver);
    write(reg::kDriverFeaturesSel, 0);
    write(reg::kDriverFeatures, 0x30000007);
    write(reg::kDriverFeaturesSel, 1);
    write(reg::kDriverFeatures, modern ? 1 : 0);
    if (modern) {
        write(reg::kStatus,
              spec::status::kAcknowledge | spec::status::kDriver | spec::status::kFeaturesOk);
    } else {
        write(reg::kGuestPageSize, 4096);
    }
    for (uint32_t queue = 0; queue < 3; ++queue) {
        const uint64_t ring = kRamBase + queue * 0x10000;
        write(reg::kQueueSel, queue);
        write(reg::kQueueNum, queue_size);
        if (modern) {
            write(reg::kQueueDescLow, static_cast<uint32_t>(ring));
            write(reg::kQueueDriverLow, static_cast<uint32_t>(ring + 0x4000));
            write(reg::kQueueDeviceLow, static_cast<uint32_t>(ring + 0x8000));
            write(reg::kQueueReady, 1);
        } else {
            write(reg::kQueueAlign, 4096);
            write(reg::kQueuePfn, static_cast<uint32_t>(ring / 4096));
        }
    }
    write(reg::kStatus, cpu.read32(base + reg::kStatus) | spec::status::kDriverOk);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Platform& p = platform();
    Input input(data, size);
    const bool modern = (input.u8() & 1) != 0;
    const uint64_t base = kMmioBase[modern ? 1 : 0];
    models::BalloonDevice& balloon = modern ? p.modern_balloon : p.legacy_balloon;

    // Start clean: device reset, rings and buffers zeroed.
    p.cpu.write32(base + spec::mmio::kStatus, 0);
    static std::vector<uint8_t> zeros(kScratch, 0);
    p.cpu.debug(tlm::TLM_WRITE_COMMAND, kRamBase, zeros.data(),
                static_cast<unsigned int>(zeros.size()));
    sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_US));

    for (int step = 0; step < 256 && !input.done(); ++step) {
        switch (input.u8() % 7) {
            case 0: {  // register write, any width and alignment
                const uint32_t offset = input.u16() % 0x220;
                const unsigned int width = 1u << (input.u8() % 4);
                uint64_t value = input.u32();
                p.cpu.write(base + offset, &value, width);
                break;
            }
            case 1: {  // register read
                uint64_t value = 0;
                p.cpu.read(base + (input.u16() % 0x220), &value, 1u << (input.u8() % 4));
                break;
            }
            case 2: {  // guest memory scribble in the ring/buffer area
                const uint64_t offset = input.u32() % kScratch;
                uint8_t bytes[64];
                const unsigned int length = 1 + input.u8() % sizeof bytes;
                for (unsigned int i = 0; i < length; ++i) {
                    bytes[i] = input.u8();
                }
                p.cpu.debug(tlm::TLM_WRITE_COMMAND, kRamBase + offset, bytes, length);
                break;
            }
            case 3:  // let the device work
                sc_core::sc_start(sc_core::sc_time(1 + input.u8(), sc_core::SC_US));
                break;
            case 4:  // host side
                if ((input.u8() & 1) != 0) {
                    balloon.set_target_pages(input.u16());
                } else {
                    balloon.request_stats();
                }
                break;
            case 5:
                bring_up(p.cpu, base, modern, static_cast<uint16_t>(1u << (input.u8() % 9)));
                break;
            default: {  // kick a queue
                p.cpu.write32(base + spec::mmio::kQueueNotify, input.u8() % 4);
                break;
            }
        }
    }
    sc_core::sc_start(sc_core::sc_time(50, sc_core::SC_US));

    if (balloon.ballooned_pages() > kRamSize / 4096) {
        std::abort();  // the device claims more pages than guest RAM has
    }
    return 0;
}

// libsystemc.so references sc_main; libFuzzer's own main() runs instead, so this is
// only reached if the binary is somehow started through SystemC's main.
int sc_main(int, char*[]) {
    return 1;
}
