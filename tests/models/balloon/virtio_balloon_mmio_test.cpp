// VirtioBalloonMmio as a platform drops it in: 64-bit (and 32-bit) sockets bound straight to
// an initiator and a RAM of that width, the interrupt bound or not, the reset input.

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/balloon/virtio_balloon_mmio.h"
#include "spec/virtio.h"

namespace vbsim::models {
namespace {

using sc_core::sc_time;
using sc_core::SC_US;
namespace reg = spec::mmio;
namespace st = spec::status;
using spec::feature::bit;

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamBytes = 1 << 20;
constexpr uint64_t kDesc = kRamBase;
constexpr uint64_t kAvail = kRamBase + 0x1000;
constexpr uint64_t kUsed = kRamBase + 0x2000;
constexpr uint64_t kPfnBuffer = kRamBase + 0x3000;

// A RAM of the platform's own, of width kWidth, that grants DMI only when told to.
template <unsigned int kWidth>
struct PlainRam : sc_core::sc_module {
    tlm_utils::simple_target_socket<PlainRam, kWidth> socket{"socket"};
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kRamBytes, 0);
    uint64_t accesses = 0;
    bool grant_dmi = false;
    uint64_t dmi_grants = 0;

    explicit PlainRam(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        socket.register_b_transport(this, &PlainRam::b_transport);
        socket.register_get_direct_mem_ptr(this, &PlainRam::get_direct_mem_ptr);
    }
    bool get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) {
        if (!grant_dmi) {
            return false;
        }
        ++dmi_grants;
        dmi.set_dmi_ptr(bytes.data());
        dmi.set_start_address(kRamBase);
        dmi.set_end_address(kRamBase + kRamBytes - 1);
        dmi.allow_read_write();
        dmi.set_read_latency(sc_time(10, sc_core::SC_NS));
        dmi.set_write_latency(sc_time(10, sc_core::SC_NS));
        return true;
    }
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
        ++accesses;
        const uint64_t address = trans.get_address();
        if (address < kRamBase || address - kRamBase + trans.get_data_length() > kRamBytes ||
            trans.get_byte_enable_ptr() != nullptr) {
            trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        uint8_t* at = &bytes[address - kRamBase];
        if (trans.is_read()) {
            std::memcpy(trans.get_data_ptr(), at, trans.get_data_length());
        } else {
            std::memcpy(at, trans.get_data_ptr(), trans.get_data_length());
        }
        delay += sc_time(10, sc_core::SC_NS);
        trans.set_dmi_allowed(grant_dmi);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    template <typename T>
    void put(uint64_t address, T value) {
        std::memcpy(&bytes[address - kRamBase], &value, sizeof value);
    }
    template <typename T>
    T get(uint64_t address) const {
        T value{};
        std::memcpy(&value, &bytes[address - kRamBase], sizeof value);
        return value;
    }
};

// A CPU of width kWidth doing raw 32-bit register accesses at offsets from 0.
template <unsigned int kWidth>
struct RawCpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<RawCpu, kWidth> socket{"socket"};
    std::function<void(RawCpu&)> program;

    explicit RawCpu(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        SC_HAS_PROCESS(RawCpu);
        SC_THREAD(run);
    }
    void run() { program(*this); }
    uint32_t access(tlm::tlm_command command, uint32_t offset, uint32_t value) {
        tlm::tlm_generic_payload trans;
        sc_time delay = sc_core::SC_ZERO_TIME;
        trans.set_command(command);
        trans.set_address(offset);
        trans.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
        trans.set_data_length(4);
        trans.set_streaming_width(4);
        socket->b_transport(trans, delay);
        EXPECT_EQ(trans.get_response_status(), tlm::TLM_OK_RESPONSE) << "offset " << offset;
        wait(delay);
        return value;
    }
    uint32_t read(uint32_t offset) { return access(tlm::TLM_READ_COMMAND, offset, 0); }
    void write(uint32_t offset, uint32_t value) { access(tlm::TLM_WRITE_COMMAND, offset, value); }
};

VirtioBalloonMmioParams two_bank_params() {
    VirtioBalloonMmioParams params;
    params.device.guest_ram_ranges = {{kRamBase, kRamBytes}, {0x100000000, 1 << 20}};
    params.device.offered_features = bit(spec::balloon::kFeatureMustTellHost);
    return params;
}

// Modern init, inflateq with 8 entries, one buffer of `pfns`, notify.
template <unsigned int kWidth>
void inflate(RawCpu<kWidth>& cpu, PlainRam<kWidth>& ram, const std::vector<uint32_t>& pfns) {
    cpu.write(reg::kStatus, 0);
    cpu.write(reg::kStatus, st::kAcknowledge | st::kDriver);
    cpu.write(reg::kDriverFeaturesSel, 0);
    cpu.write(reg::kDriverFeatures, 1u << spec::balloon::kFeatureMustTellHost);
    cpu.write(reg::kDriverFeaturesSel, 1);
    cpu.write(reg::kDriverFeatures, 1);  // VERSION_1
    cpu.write(reg::kStatus, st::kAcknowledge | st::kDriver | st::kFeaturesOk);
    cpu.write(reg::kQueueSel, 0);
    cpu.write(reg::kQueueNum, 8);
    cpu.write(reg::kQueueDescLow, static_cast<uint32_t>(kDesc));
    cpu.write(reg::kQueueDriverLow, static_cast<uint32_t>(kAvail));
    cpu.write(reg::kQueueDeviceLow, static_cast<uint32_t>(kUsed));
    cpu.write(reg::kQueueReady, 1);
    cpu.write(reg::kStatus, st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
    for (size_t i = 0; i < pfns.size(); ++i) {
        ram.template put<uint32_t>(kPfnBuffer + 4 * i, pfns[i]);
    }
    ram.template put<uint64_t>(kDesc, kPfnBuffer);
    ram.template put<uint32_t>(kDesc + 8, static_cast<uint32_t>(4 * pfns.size()));
    ram.template put<uint16_t>(kAvail + 4, 0);  // ring[0] = descriptor 0
    ram.template put<uint16_t>(kAvail + 2, 1);  // idx
    cpu.write(reg::kQueueNotify, 0);
}

template <unsigned int kWidth>
struct Platform {
    RawCpu<kWidth> cpu{"cpu"};
    PlainRam<kWidth> ram{"ram"};
    VirtioBalloonMmio<kWidth> balloon{"balloon", two_bank_params()};
    Platform() {
        cpu.socket.bind(balloon.target_socket);
        balloon.dma_socket.bind(ram.socket);
    }
};

TEST(VirtioBalloonMmio, Binds64BitSocketsAndHonoursASecondRamBankWithIrqUnbound) {
    Platform<64> platform;
    uint32_t interrupt_status = 0;
    platform.cpu.program = [&](RawCpu<64>& cpu) {
        EXPECT_EQ(cpu.read(reg::kMagicValue), reg::kMagic);
        EXPECT_EQ(cpu.read(reg::kDeviceId), spec::balloon::kDeviceId);
        inflate(cpu, platform.ram, {0x100000, 0x100001, 0x80010, 0x90000});
        sc_core::wait(sc_time(2, sc_core::SC_MS));
        interrupt_status = cpu.read(reg::kInterruptStatus);
    };
    sc_core::sc_start(sc_time(5, sc_core::SC_MS));

    const BalloonDevice& device = platform.balloon.device();
    EXPECT_EQ(device.ballooned_pages(), 3u);
    EXPECT_TRUE(device.is_ballooned(0x100001));
    EXPECT_TRUE(device.is_ballooned(0x80010));
    EXPECT_EQ(device.counters().pfns_out_of_range, 1u);  // 0x90000: between the banks
    EXPECT_EQ(platform.balloon.transport().counters().guest_errors, 1u);
    EXPECT_EQ(platform.ram.template get<uint16_t>(kUsed + 2), 1u);  // the buffer came back
    EXPECT_EQ(interrupt_status, reg::kInterruptUsedBuffer);
    EXPECT_TRUE(platform.balloon.interrupt_level());
    EXPECT_GT(platform.ram.accesses, 0u);  // every DMA went through the 64-bit socket
}

TEST(VirtioBalloonMmio, Binds32BitSocketsDrivesABoundIrqAndResetsOnTheResetInput) {
    Platform<32> platform;
    sc_core::sc_signal<bool> irq("irq");
    sc_core::sc_signal<bool> reset("reset");
    platform.balloon.irq.bind(irq);
    platform.balloon.reset.bind(reset);
    bool irq_after_inflate = false;
    uint32_t status_after_reset = 0xff;
    platform.cpu.program = [&](RawCpu<32>& cpu) {
        inflate(cpu, platform.ram, {0x80020, 0x80021});
        sc_core::wait(sc_time(2, sc_core::SC_MS));
        irq_after_inflate = irq.read();
        reset.write(true);
        sc_core::wait(sc_time(1, SC_US));
        status_after_reset = cpu.read(reg::kStatus);
    };
    sc_core::sc_start(sc_time(5, sc_core::SC_MS));

    EXPECT_TRUE(irq_after_inflate);
    EXPECT_EQ(status_after_reset, 0u);
    EXPECT_FALSE(irq.read());  // the reset cleared InterruptStatus
    EXPECT_EQ(platform.balloon.transport().counters().device_resets, 2u);  // driver's + line's
    EXPECT_EQ(platform.balloon.device().ballooned_pages(), 0u);  // the guest forgot its balloon
    EXPECT_EQ(platform.balloon.device().counters().pages_inflated, 2u);
}

TEST(VirtioBalloonMmio, DmiGrantsAndInvalidationsPassThroughTheWideSockets) {
    Platform<64> platform;
    platform.ram.grant_dmi = true;
    uint64_t accesses_before_invalidation = 0;
    uint64_t accesses_after_second_buffer = 0;
    platform.cpu.program = [&](RawCpu<64>& cpu) {
        inflate(cpu, platform.ram, {0x80030});
        sc_core::wait(sc_time(2, sc_core::SC_MS));
        accesses_before_invalidation = platform.ram.accesses;
        // The RAM takes its pointer back; the next buffer must ask again.
        platform.ram.socket->invalidate_direct_mem_ptr(0, ~uint64_t{0});
        platform.ram.template put<uint32_t>(kPfnBuffer + 0x100, 0x80031);
        platform.ram.template put<uint64_t>(kDesc + 16, kPfnBuffer + 0x100);
        platform.ram.template put<uint32_t>(kDesc + 24, 4);
        platform.ram.template put<uint16_t>(kAvail + 6, 1);  // ring[1] = descriptor 1
        platform.ram.template put<uint16_t>(kAvail + 2, 2);  // idx
        cpu.write(reg::kQueueNotify, 0);
        sc_core::wait(sc_time(2, sc_core::SC_MS));
        accesses_after_second_buffer = platform.ram.accesses;
    };
    sc_core::sc_start(sc_time(5, sc_core::SC_MS));

    EXPECT_EQ(platform.balloon.device().ballooned_pages(), 2u);
    EXPECT_EQ(platform.ram.template get<uint16_t>(kUsed + 2), 2u);
    // One transaction set the DMI hint, the grant served the rest; after the invalidation, one
    // transaction again and a second grant.
    EXPECT_EQ(platform.ram.dmi_grants, 2u);
    EXPECT_EQ(accesses_before_invalidation, 1u);
    EXPECT_EQ(accesses_after_second_buffer, 2u);
}

}  // namespace
}  // namespace vbsim::models
